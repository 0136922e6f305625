using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using OrleansMQ.Client;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>
/// An Orleans client connected to the broker's gateway, with the OrleansMQ client on top. Connecting is bounded by
/// <see cref="CliSettings.ConnectTimeout"/>: a gateway that refuses connections is retried until then, one that
/// accepts but never answers is abandoned then. Either way <see cref="BrokerUnavailableException"/>.
/// </summary>
internal sealed class BrokerConnection : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly ServiceProvider _services;
    private readonly IHostedService[] _started;

    private BrokerConnection(ServiceProvider services, IHostedService[] started)
    {
        _services = services;
        _started = started;
        Client = services.GetRequiredService<IOrleansMQClient>();
        Grains = services.GetRequiredService<IClusterClient>();
    }

    public IOrleansMQClient Client { get; }

    /// <summary>For what the OrleansMQ client does not offer: reading a dead-letter partition, Orleans' management grain.</summary>
    public IClusterClient Grains { get; }

    public static async Task<BrokerConnection> ConnectAsync(CliSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var address = await ResolveAsync(settings, cancellationToken).ConfigureAwait(false);
        var endpoints = settings.Gateways.Select(port => new IPEndPoint(address, port)).ToArray();
        Exception? lastError = null;

        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            if (settings.Verbose)
            {
                logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Information);
            }
            else
            {
                logging.SetMinimumLevel(LogLevel.None);
            }
        });
        services.AddOrleansClient(client =>
        {
            client.UseStaticClustering(endpoints);
            client.UseOrleansMQTls(settings.Tls);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = "omq";
            });
            // A broker that is (re)starting refuses connections for a moment: retry until the connect timeout.
            client.UseConnectionRetryFilter(async (error, token) =>
            {
                lastError = error;
                if (clock.Elapsed + RetryDelay >= settings.ConnectTimeout)
                {
                    return false;
                }

                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                return true;
            });
        });
        services.AddOrleansMQClient();

        var provider = services.BuildServiceProvider();
        var started = new List<IHostedService>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.ConnectTimeout);
        try
        {
            foreach (var hosted in provider.GetServices<IHostedService>())
            {
                await hosted.StartAsync(deadline.Token).ConfigureAwait(false);
                started.Add(hosted);
            }

            return new BrokerConnection(provider, [.. started]);
        }
        catch (Exception ex)
        {
            await StopAsync(started).ConfigureAwait(false);
            await provider.DisposeAsync().ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Interrupted while connecting.", ex, cancellationToken);
            }

            var cause = lastError ?? ex;
            throw new BrokerUnavailableException(
                $"cannot connect to the broker at {settings.Endpoint} (cluster id '{settings.ClusterId}') within {Parsing.Durations.Format(settings.ConnectTimeout)}: {Describe(cause)}", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_started).ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task StopAsync(IEnumerable<IHostedService> started)
    {
        // Closing the gateway connection politely is nice but not worth hanging an exiting CLI for.
        using var timeout = new CancellationTokenSource(StopTimeout);
        foreach (var hosted in started.Reverse())
        {
            try
            {
                await hosted.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or OrleansException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task<IPAddress> ResolveAsync(CliSettings settings, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(settings.Host, out var address))
        {
            return address;
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(settings.Host, cancellationToken).ConfigureAwait(false);
            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.First();
        }
        catch (Exception ex) when (ex is SocketException or InvalidOperationException)
        {
            throw new BrokerUnavailableException($"cannot resolve the broker host '{settings.Host}': {ex.Message}", ex);
        }
    }

    private static string Describe(Exception error)
    {
        var message = error.Message;
        // Orleans' messages can run over several lines; the first says what happened.
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline > 0 ? message[..newline].TrimEnd() : message;
    }
}
