using OrleansMQ.Testing.Processes;
using OrleansMQ.Testing.Tls;

namespace OrleansMQ.Cli.Tests;

/// <summary>omq against a silo-host whose Orleans endpoints use mutual TLS, with a certificate the test generates.</summary>
public sealed class TlsConnectionTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Omq_with_the_tls_options_manages_a_tls_broker_and_without_them_cannot_reach_it()
    {
        using var data = new TempDirectory("cli-tls");
        var certificate = SelfSignedCertificate.Create(data.Path);
        await using var silo = await SiloHostProcess.StartAsync(data.Path, SiloStorage.File,
            $"--Orleans:Tls:CertificatePath={certificate.PfxPath}",
            $"--Orleans:Tls:CertificatePassword={certificate.Password}",
            $"--Orleans:Tls:TrustedThumbprints:0={certificate.Sha256}");
        var omq = new Omq(silo.GatewayPort, log, silo.Describe);
        var topic = "tls-" + Guid.NewGuid().ToString("N")[..8];

        // PEM certificate + key for the client, PKCS#12 on the silo: both loaders, one certificate.
        string[] tls = ["--tls-cert", certificate.CertificatePemPath, "--tls-key", certificate.KeyPemPath, "--tls-trust", certificate.Sha256];
        (await omq.RunAsync(["topic", "create", topic, .. tls])).Succeeded();
        var list = (await omq.RunAsync(["topic", "list", "-o", "json", .. tls])).Succeeded();
        Assert.Contains(topic, string.Join('\n', list.Stdout));

        (await omq.RunAsync("topic", "list", "--connect-timeout", "3s")).Failed(6, "error: cannot connect to the broker");
    }
}
