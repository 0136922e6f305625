using System.CommandLine;
using OrleansMQ.Client.Security;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>The values of the <see cref="GlobalOptions"/> for one invocation.</summary>
internal sealed record CliSettings(string Host, IReadOnlyList<int> Gateways, string ClusterId, TimeSpan ConnectTimeout, bool Json, bool Verbose)
{
    /// <summary>Orleans TLS (off unless <c>--tls-cert</c> is given).</summary>
    public OrleansTlsSettings Tls { get; init; } = new();

    public static CliSettings From(ParseResult parse) => new(
        parse.GetValue(GlobalOptions.Host) ?? "127.0.0.1",
        parse.GetValue(GlobalOptions.Gateway) is { Length: > 0 } ports ? ports : [30000],
        parse.GetValue(GlobalOptions.ClusterId) ?? "omq",
        GlobalOptions.ConnectTimeout.ValueIn(parse),
        string.Equals(parse.GetValue(GlobalOptions.Output), "json", StringComparison.Ordinal),
        parse.GetValue(GlobalOptions.Verbose))
    {
        Tls = new OrleansTlsSettings
        {
            CertificatePath = parse.GetValue(GlobalOptions.TlsCertificate),
            KeyPath = parse.GetValue(GlobalOptions.TlsKey),
            CertificatePassword = parse.GetValue(GlobalOptions.TlsPassword) ?? Environment.GetEnvironmentVariable("OMQ_TLS_PASSWORD"),
            TrustedThumbprints = [.. parse.GetValue(GlobalOptions.TlsTrust) ?? []],
        },
    };

    /// <summary><c>host:port</c> (or <c>host:port,port</c>), for messages.</summary>
    public string Endpoint => $"{Host}:{string.Join(',', Gateways)}";
}
