using System.Security.Cryptography.X509Certificates;

namespace OrleansMQ.Client.Security;

/// <summary>Loads a certificate with its private key from configuration-style file settings (gateway TLS, Orleans TLS).</summary>
public static class CertificateFiles
{
    /// <summary>
    /// Loads <paramref name="certificatePath"/>: with <paramref name="keyPath"/>, a PEM certificate and its PEM key;
    /// a <c>.pem</c>/<c>.crt</c> file without one, a PEM holding both; anything else, a PKCS#12 (.pfx/.p12) file
    /// protected by <paramref name="password"/>. The result is always a PKCS#12-backed certificate, which TLS servers
    /// accept on every platform.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">A file is not a certificate or key, or the password is wrong.</exception>
    public static X509Certificate2 Load(string certificatePath, string? password = null, string? keyPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        if (!File.Exists(certificatePath))
        {
            throw new FileNotFoundException($"Certificate file '{certificatePath}' does not exist.", certificatePath);
        }

        var extension = Path.GetExtension(certificatePath).ToLowerInvariant();
        if (keyPath is { Length: > 0 } || extension is ".pem" or ".crt")
        {
            using var pem = string.IsNullOrEmpty(password)
                ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath is { Length: > 0 } ? keyPath : null)
                : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyPath is { Length: > 0 } ? keyPath : null);
            // PEM keys are ephemeral; a round trip through PKCS#12 gives a key SslStream can use everywhere.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password);
    }
}
