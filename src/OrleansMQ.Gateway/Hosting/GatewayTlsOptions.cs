namespace OrleansMQ.Gateway;

/// <summary>
/// The gateway's server certificate: a PKCS#12 file (<see cref="CertificatePath"/> + <see cref="CertificatePassword"/>)
/// or PEM files (<see cref="CertificatePath"/> + <see cref="KeyPath"/>). When set, the HTTP port speaks HTTPS (and
/// <c>wss://</c> for STOMP over WebSocket) and the STOMP port speaks STOMP over TLS.
/// </summary>
public sealed class GatewayTlsOptions
{
    /// <summary>A .pfx/.p12 file, or a PEM certificate (with <see cref="KeyPath"/>, or with the key in the same file).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PKCS#12 password (or of an encrypted PEM key).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The PEM private key, when <see cref="CertificatePath"/> is a PEM certificate.</summary>
    public string? KeyPath { get; set; }

    internal bool Enabled => !string.IsNullOrEmpty(CertificatePath);
}
