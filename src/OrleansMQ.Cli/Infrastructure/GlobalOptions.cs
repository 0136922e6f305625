using System.CommandLine;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>The options every command takes (declared once on the root command, recursive).</summary>
internal static class GlobalOptions
{
    public static readonly Option<string> Host = new("--host")
    {
        Description = "The broker's gateway host (an IP address or a host name).",
        HelpName = "host",
        DefaultValueFactory = _ => "127.0.0.1",
        Recursive = true,
    };

    public static readonly Option<int[]> Gateway = new("--gateway")
    {
        Description = "The broker's Orleans gateway port; repeat it for a multi-silo cluster (--gateway 30000 --gateway 30001), the client fails over between them.",
        HelpName = "port",
        DefaultValueFactory = _ => [30000],
        // One port per occurrence, so "--gateway 30000 hello" never takes a message for a port.
        AllowMultipleArgumentsPerToken = false,
        Recursive = true,
    };

    public static readonly Option<string> ClusterId = new("--cluster-id")
    {
        Description = "The Orleans cluster id of the broker (silo-host's Orleans:ClusterId).",
        HelpName = "id",
        DefaultValueFactory = _ => "omq",
        Recursive = true,
    };

    public static readonly DurationOption ConnectTimeout = new(
        "--connect-timeout", "How long to keep trying to reach the broker before giving up with exit code 6.", TimeSpan.FromSeconds(10))
    {
        Recursive = true,
    };

    public static readonly Option<string> Output = new Option<string>("--output", "-o")
    {
        Description = "table for people, json for scripts (one JSON document; JSON lines for message streams).",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    }.AcceptOnlyFromAmong("table", "json");

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Log the Orleans client's activity to stderr and print stack traces of errors.",
        Recursive = true,
    };

    public static readonly Option<string> TlsCertificate = new("--tls-cert")
    {
        Description = "Connect over mutual TLS with this client certificate: a .pfx/.p12 file, or a PEM certificate (with --tls-key). The silos must use TLS (silo-host Orleans:Tls).",
        HelpName = "file",
        Recursive = true,
    };

    public static readonly Option<string> TlsKey = new("--tls-key")
    {
        Description = "The PEM private key of --tls-cert.",
        HelpName = "file",
        Recursive = true,
    };

    public static readonly Option<string> TlsPassword = new("--tls-password")
    {
        Description = "The password of --tls-cert (PKCS#12) or of --tls-key (encrypted PEM). Or set OMQ_TLS_PASSWORD.",
        HelpName = "password",
        Recursive = true,
    };

    public static readonly Option<string[]> TlsTrust = new("--tls-trust")
    {
        Description = "Accept a silo certificate with this SHA-256 thumbprint even if the system does not trust it (self-signed); repeatable.",
        HelpName = "sha256",
        AllowMultipleArgumentsPerToken = false,
        Recursive = true,
    };

    public static IEnumerable<Option> All => [Host, Gateway, ClusterId, ConnectTimeout, Output, Verbose, TlsCertificate, TlsKey, TlsPassword, TlsTrust];
}
