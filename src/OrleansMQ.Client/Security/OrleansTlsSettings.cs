using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace OrleansMQ.Client.Security;

/// <summary>
/// TLS for Orleans connections (silo to silo, client to silo), bound from configuration (silo-host: <c>Orleans:Tls</c>).
/// Both ends present a certificate (mutual TLS). A remote certificate is accepted when the platform trusts its chain,
/// or when its SHA-256 thumbprint is in <see cref="TrustedThumbprints"/> (pinning, for self-signed certificates).
/// </summary>
public sealed class OrleansTlsSettings
{
    /// <summary>This end's certificate: a .pfx/.p12 file, or a PEM certificate (with <see cref="KeyPath"/> or the key in the same file). Unset = no TLS.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PKCS#12 password (or of an encrypted PEM key).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The PEM private key, when <see cref="CertificatePath"/> is a PEM certificate.</summary>
    public string? KeyPath { get; set; }

    /// <summary>SHA-256 thumbprints (hex, case and ':' ignored) of remote certificates accepted even when the platform does not trust them.</summary>
    public List<string> TrustedThumbprints { get; set; } = [];

    /// <summary>The host name the client side of a connection expects in the remote certificate (SNI). Unset = not checked by name when pinned.</summary>
    public string? TargetHost { get; set; }

    /// <summary>Whether TLS is configured (a certificate path is set).</summary>
    public bool Enabled => !string.IsNullOrEmpty(CertificatePath);

    /// <summary>Loads <see cref="CertificatePath"/> (see <see cref="CertificateFiles.Load"/>).</summary>
    public X509Certificate2 LoadCertificate() =>
        CertificateFiles.Load(CertificatePath ?? throw new InvalidOperationException("Orleans TLS needs a CertificatePath."), CertificatePassword, KeyPath);

    /// <summary>Applies the remote certificate rule and the target host to Orleans' <see cref="TlsOptions"/>.</summary>
    public void Apply(TlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var pinned = TrustedThumbprints.Select(Normalize).ToHashSet(StringComparer.Ordinal);
        options.RemoteCertificateValidation = (certificate, _, errors) =>
            errors == SslPolicyErrors.None || pinned.Contains(certificate.GetCertHashString(HashAlgorithmName.SHA256));
        if (!string.IsNullOrEmpty(TargetHost))
        {
            var host = TargetHost;
            options.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = host;
        }
    }

    /// <summary>The SHA-256 thumbprint of <paramref name="certificate"/>, as <see cref="TrustedThumbprints"/> takes it.</summary>
    public static string Thumbprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    private static string Normalize(string thumbprint) => thumbprint.Replace(":", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
}
