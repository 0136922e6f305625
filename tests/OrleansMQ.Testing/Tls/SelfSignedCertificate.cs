using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansMQ.Testing.Tls;

/// <summary>
/// A self-signed certificate for 127.0.0.1/localhost made by the test itself (server and client authentication), written
/// as PKCS#12 (with a password) and as PEM certificate + PEM key, so both of the gateway's loaders are exercised.
/// </summary>
public sealed class SelfSignedCertificate
{
    private SelfSignedCertificate(X509Certificate2 certificate, string directory, string password)
    {
        Certificate = certificate;
        Password = password;
        PfxPath = Path.Combine(directory, "omq-test.pfx");
        CertificatePemPath = Path.Combine(directory, "omq-test.crt.pem");
        KeyPemPath = Path.Combine(directory, "omq-test.key.pem");
        File.WriteAllBytes(PfxPath, certificate.Export(X509ContentType.Pkcs12, password));
        File.WriteAllText(CertificatePemPath, certificate.ExportCertificatePem());
        using var key = certificate.GetRSAPrivateKey()!;
        File.WriteAllText(KeyPemPath, key.ExportPkcs8PrivateKeyPem());
    }

    public X509Certificate2 Certificate { get; }

    public string Password { get; }

    public string PfxPath { get; }

    public string CertificatePemPath { get; }

    public string KeyPemPath { get; }

    /// <summary>SHA-256 thumbprint, hex.</summary>
    public string Sha256 => Certificate.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>Accepts exactly this certificate (pinning), whatever the platform's trust store says.</summary>
    public bool IsPinned(X509Certificate? presented) =>
        presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == Sha256;

    public static SelfSignedCertificate Create(string directory)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=orleansmq-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12, password), password);
        return new SelfSignedCertificate(certificate, directory, password);
    }
}
