using OrleansMQ.Client.Security;

namespace Orleans.Hosting;

/// <summary>TLS for an Orleans client that talks to an OrleansMQ cluster.</summary>
public static class OrleansMQClientTlsExtensions
{
    /// <summary>
    /// Connects to the silos over mutual TLS with the certificate and trust rules of <paramref name="settings"/>; does
    /// nothing when <see cref="OrleansTlsSettings.Enabled"/> is false. The silos must use TLS too.
    /// </summary>
    public static IClientBuilder UseOrleansMQTls(this IClientBuilder builder, OrleansTlsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Enabled ? builder.UseTls(settings.LoadCertificate(), settings.Apply) : builder;
    }
}
