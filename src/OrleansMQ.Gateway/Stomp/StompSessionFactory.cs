using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Publishing;
using OrleansMQ.Gateway.Stomp.Transport;

namespace OrleansMQ.Gateway.Stomp;

/// <summary>Runs STOMP sessions over any transport with the gateway's shared client, producers and options.</summary>
internal sealed class StompSessionFactory(
    IOrleansMQClient client,
    GatewayProducers producers,
    IOptions<OrleansMQGatewayOptions> options,
    ILoggerFactory loggers,
    TimeProvider? time = null)
{
    private readonly ILogger _logger = loggers.CreateLogger("OrleansMQ.Gateway.Stomp");

    public StompOptions Options => options.Value.Stomp;

    public Task RunAsync(IStompTransport transport, CancellationToken transportClosed) =>
        new StompConnection(transport, client, producers, options.Value.Stomp, _logger, time ?? TimeProvider.System).RunAsync(transportClosed);
}
