using System.Net.Http.Json;
using System.Security.Authentication;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using OrleansMQ.Client;
using OrleansMQ.Client.Security;
using OrleansMQ.Gateway.Tests.Infrastructure;
using OrleansMQ.Testing.Tls;

namespace OrleansMQ.Gateway.Tests.Tls;

/// <summary>
/// TLS end to end with a certificate the fixture generated: HTTPS and STOMP over TLS to the gateway, @stomp/stompjs over
/// wss://, and an Orleans client over mutual TLS to the silo.
/// </summary>
[Collection(TlsGatewayCollection.Name)]
public sealed class TlsTests(TlsGatewayFixture gateway)
{
    [Fact]
    public async Task Https_serves_the_configured_certificate()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("tls"), new { partitions = 1 });

        using var published = await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "over https" });

        published.EnsureSuccessStatusCode();
        // Without the pin the platform refuses the self-signed certificate: it really is the generated one on the wire.
        using var unpinned = new HttpClient();
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => unpinned.GetAsync($"https://127.0.0.1:{gateway.HttpPort}/health"));
        Assert.IsType<AuthenticationException>(refused.InnerException);
        // Plain HTTP to the TLS port gets no answer from the API.
        using var plain = new HttpClient();
        var attempt = await Record.ExceptionAsync(async () =>
        {
            using var response = await plain.GetAsync($"http://127.0.0.1:{gateway.HttpPort}/health");
            Assert.False(response.IsSuccessStatusCode);
        });
        Assert.True(attempt is null or HttpRequestException, attempt?.ToString());
    }

    [Fact]
    public async Task Stomp_over_tls_connects_sends_and_gets_a_receipt()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("tls"), new { partitions = 1 });
        await using var stomp = await RawStompConnection.OpenTlsAsync(gateway.StompPort, gateway.Certificate.IsPinned);

        await stomp.ConnectAsync();
        await stomp.SendAsync($"SEND\ndestination:/topic/{topic}\nreceipt:r\n\nover tls\0");

        Assert.Equal("RECEIPT", (await stomp.ReadFrameAsync(TimeSpan.FromSeconds(30)))?.Command);
        using var marker = await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "marker" });
        Assert.Equal(1, (await marker.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Stompjs_over_wss_trusting_only_the_generated_certificate_publishes()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("tls"), new { partitions = 1 });

        var result = await NodeStompClient.RunAsync(gateway, "probe", "ws", "--tls-ca", gateway.Certificate.CertificatePemPath,
            "--op", "send", "--destination", $"/topic/{topic}");

        Assert.True(result.GetProperty("receipt").GetBoolean(), result.ToString());
    }

    [Fact]
    public async Task An_orleans_client_with_the_certificate_reaches_the_silo_over_mutual_tls()
    {
        var topic = Unique.Name("tls");
        var settings = new OrleansTlsSettings
        {
            CertificatePath = gateway.Certificate.PfxPath,
            CertificatePassword = gateway.Certificate.Password,
            TrustedThumbprints = [gateway.Certificate.Sha256],
        };
        using var host = BuildClient(settings);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        try
        {
            var client = host.Services.GetRequiredService<IOrleansMQClient>();
            await client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 1 }, timeout.Token);
            var receipt = await client.PublishAsync(topic, new Message("over orleans tls"u8.ToArray()), timeout.Token);
            Assert.Equal(0, receipt.Offset);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        // The gateway (in the silo) sees what the TLS client wrote.
        using var marker = await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "marker" });
        Assert.Equal(1, (await marker.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task An_orleans_client_without_tls_cannot_connect_to_the_tls_silo()
    {
        // No retries: the first failed connection attempt ends StartAsync, instead of the client retrying forever.
        using var host = BuildClient(new OrleansTlsSettings(), retry: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var failure = await Record.ExceptionAsync(() => host.StartAsync(timeout.Token));

        Assert.NotNull(failure);
        Assert.False(timeout.IsCancellationRequested, $"the client neither connected nor failed within 60 s: {failure}");
        Assert.IsNotType<OperationCanceledException>(failure);
    }

    private IHost BuildClient(OrleansTlsSettings settings, bool retry = true)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(gateway.OrleansGatewayPort, serviceId: "omq", clusterId: "omq");
            client.UseOrleansMQTls(settings);
            if (!retry)
            {
                client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
            }
        });
        builder.Services.AddOrleansMQClient();
        return builder.Build();
    }
}
