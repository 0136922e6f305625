using System.Net;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Gateway;

/// <summary>Checks <see cref="OrleansMQGatewayOptions"/> at start-up, naming the offending setting and its range.</summary>
internal sealed class OrleansMQGatewayOptionsValidator : IValidateOptions<OrleansMQGatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansMQGatewayOptions options)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(options.BindAddress, out _))
        {
            errors.Add($"Gateway:BindAddress '{options.BindAddress}' is not an IP address.");
        }

        Check(options.HttpPort is >= 0 and <= 65535, $"Gateway:HttpPort {options.HttpPort} must be 0–65535.");
        Check(options.StompPort is >= 0 and <= 65535, $"Gateway:StompPort {options.StompPort} must be 0–65535.");
        Check(options.HttpPort == 0 || options.HttpPort != options.StompPort, $"Gateway:HttpPort and Gateway:StompPort are both {options.HttpPort}.");
        Check(options.MaxHttpBodyBytes >= 1024, $"Gateway:MaxHttpBodyBytes {options.MaxHttpBodyBytes} must be ≥ 1024.");
        Check(options.MaxBatchMessages is >= 1 and <= 100_000, $"Gateway:MaxBatchMessages {options.MaxBatchMessages} must be 1–100000.");
        Check(options.MaxReceiveWait >= TimeSpan.Zero && options.MaxReceiveWait <= TimeSpan.FromMinutes(2), $"Gateway:MaxReceiveWait {options.MaxReceiveWait} must be 0–2 min.");
        Check(options.MaxReceiveMessages is >= 1 and <= 10_000, $"Gateway:MaxReceiveMessages {options.MaxReceiveMessages} must be 1–10000.");
        Check(options.PullPrefetch is >= 1 and <= 10_000, $"Gateway:PullPrefetch {options.PullPrefetch} must be 1–10000.");
        Check(options.PullSessionIdleTimeout >= TimeSpan.FromSeconds(1), $"Gateway:PullSessionIdleTimeout {options.PullSessionIdleTimeout} must be ≥ 1 s.");

        var stomp = options.Stomp;
        if (stomp is null)
        {
            errors.Add("Gateway:Stomp must be set.");
        }
        else
        {
            Check(stomp.MaxBodyBytes is >= 1 and <= MessageLimits.AbsoluteMaxMessageBytes, $"Gateway:Stomp:MaxBodyBytes {stomp.MaxBodyBytes} must be 1–{MessageLimits.AbsoluteMaxMessageBytes}.");
            Check(stomp.MaxHeaders is >= 8 and <= 4096, $"Gateway:Stomp:MaxHeaders {stomp.MaxHeaders} must be 8–4096.");
            Check(stomp.MaxHeaderLineBytes is >= 256 and <= 1 << 20, $"Gateway:Stomp:MaxHeaderLineBytes {stomp.MaxHeaderLineBytes} must be 256–1048576.");
            Check(stomp.MaxHeaderBytes >= stomp.MaxHeaderLineBytes && stomp.MaxHeaderBytes <= 4 << 20, $"Gateway:Stomp:MaxHeaderBytes {stomp.MaxHeaderBytes} must be ≥ MaxHeaderLineBytes and ≤ 4 MiB.");
            Check(stomp.MinHeartbeat >= TimeSpan.FromMilliseconds(100), $"Gateway:Stomp:MinHeartbeat {stomp.MinHeartbeat} must be ≥ 100 ms.");
            Check(stomp.HeartbeatTolerance is >= 1.0 and <= 10.0, $"Gateway:Stomp:HeartbeatTolerance {stomp.HeartbeatTolerance} must be 1–10.");
            Check(stomp.ConnectTimeout >= TimeSpan.FromMilliseconds(100), $"Gateway:Stomp:ConnectTimeout {stomp.ConnectTimeout} must be ≥ 100 ms.");
            Check(stomp.DefaultPrefetch is >= 1 and <= 10_000, $"Gateway:Stomp:DefaultPrefetch {stomp.DefaultPrefetch} must be 1–10000.");
            Check(stomp.MaxSubscriptionsPerConnection >= 1, $"Gateway:Stomp:MaxSubscriptionsPerConnection {stomp.MaxSubscriptionsPerConnection} must be ≥ 1.");
            Check(stomp.MaxTransactionsPerConnection >= 1, $"Gateway:Stomp:MaxTransactionsPerConnection {stomp.MaxTransactionsPerConnection} must be ≥ 1.");
            Check(stomp.MaxFramesPerTransaction >= 1, $"Gateway:Stomp:MaxFramesPerTransaction {stomp.MaxFramesPerTransaction} must be ≥ 1.");
        }

        if (options.WebSocketStream is not { } stream)
        {
            errors.Add("Gateway:WebSocketStream must be set.");
        }
        else
        {
            Check(stream.MaxCredit is >= 1 and <= 1_000_000, $"Gateway:WebSocketStream:MaxCredit {stream.MaxCredit} must be 1–1000000.");
            Check(stream.MaxFrameBytes is >= 256 and <= 1 << 20, $"Gateway:WebSocketStream:MaxFrameBytes {stream.MaxFrameBytes} must be 256–1048576.");
            Check(stream.PollWait >= TimeSpan.FromMilliseconds(50) && stream.PollWait <= TimeSpan.FromSeconds(20), $"Gateway:WebSocketStream:PollWait {stream.PollWait} must be 50 ms–20 s.");
            Check(stream.MaxBatch is >= 1 and <= 10_000, $"Gateway:WebSocketStream:MaxBatch {stream.MaxBatch} must be 1–10000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Check(bool ok, string error)
        {
            if (!ok)
            {
                errors.Add(error);
            }
        }
    }
}
