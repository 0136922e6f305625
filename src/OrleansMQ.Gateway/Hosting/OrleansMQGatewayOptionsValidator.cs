using System.Net;
using Microsoft.Extensions.Options;
using OrleansMQ.Gateway.Security;

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
            Check(stomp.FrameTimeout >= TimeSpan.FromMilliseconds(100), $"Gateway:Stomp:FrameTimeout {stomp.FrameTimeout} must be ≥ 100 ms.");
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

        ValidateSecurity(options.Security, errors);
        var limits = options.Limits;
        if (limits is null)
        {
            errors.Add("Gateway:Limits must be set.");
        }
        else
        {
            Check(limits.MaxConnections >= 1, $"Gateway:Limits:MaxConnections {limits.MaxConnections} must be ≥ 1.");
            Check(limits.MaxConnectionsPerPrincipal >= 1, $"Gateway:Limits:MaxConnectionsPerPrincipal {limits.MaxConnectionsPerPrincipal} must be ≥ 1.");
            Check(limits.MaxSubscriptionsPerPrincipal >= 1, $"Gateway:Limits:MaxSubscriptionsPerPrincipal {limits.MaxSubscriptionsPerPrincipal} must be ≥ 1.");
            Check(limits.RequestHeadersTimeout >= TimeSpan.FromSeconds(1), $"Gateway:Limits:RequestHeadersTimeout {limits.RequestHeadersTimeout} must be ≥ 1 s.");
            Check(limits.MinRequestBodyBytesPerSecond >= 0, $"Gateway:Limits:MinRequestBodyBytesPerSecond {limits.MinRequestBodyBytesPerSecond} must be ≥ 0 (0 = off).");
            Check(limits.KeepAliveTimeout >= TimeSpan.FromSeconds(1), $"Gateway:Limits:KeepAliveTimeout {limits.KeepAliveTimeout} must be ≥ 1 s.");
        }

        if (options.Tls is { Enabled: true } tls && !File.Exists(tls.CertificatePath))
        {
            errors.Add($"Gateway:Tls:CertificatePath '{tls.CertificatePath}' does not exist.");
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

    private static void ValidateSecurity(GatewaySecurityOptions? security, List<string> errors)
    {
        if (security is null)
        {
            errors.Add("Gateway:Security must be set.");
            return;
        }

        var rules = new List<(string Where, string Rule)>();
        rules.AddRange((security.AnonymousAccess ?? []).Select(r => ("Gateway:Security:AnonymousAccess", r)));
        foreach (var (role, roleRules) in security.Roles)
        {
            rules.AddRange(roleRules.Select(r => ($"Gateway:Security:Roles:{role}", r)));
        }

        var principals = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < security.ApiKeys.Count; i++)
        {
            var key = security.ApiKeys[i];
            if (key.Key is not { Length: >= 16 })
            {
                errors.Add($"Gateway:Security:ApiKeys:{i}:Key must be at least 16 characters.");
            }

            if (string.IsNullOrWhiteSpace(key.Principal))
            {
                errors.Add($"Gateway:Security:ApiKeys:{i}:Principal must be set.");
            }

            if (security.ApiKeys.Take(i).Any(other => other.Key == key.Key))
            {
                errors.Add($"Gateway:Security:ApiKeys:{i}:Key is configured twice.");
            }

            rules.AddRange(key.Access.Select(r => ($"Gateway:Security:ApiKeys:{i}:Access", r)));
        }

        foreach (var (where, rule) in rules)
        {
            try
            {
                AccessRule.Parse(rule);
            }
            catch (FormatException ex)
            {
                errors.Add($"{where}: {ex.Message}");
            }
        }

        var jwt = security.Jwt;
        if (jwt is null)
        {
            errors.Add("Gateway:Security:Jwt must be set.");
        }
        else if (jwt.SigningKey is { Length: > 0 } signingKey && System.Text.Encoding.UTF8.GetByteCount(signingKey) < 32)
        {
            errors.Add("Gateway:Security:Jwt:SigningKey must be at least 32 bytes (HMAC-SHA256).");
        }

        if (jwt?.Authority is { Length: > 0 } authority)
        {
            if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                errors.Add($"Gateway:Security:Jwt:Authority '{authority}' must be an absolute https:// URL.");
            }
            else if (uri.Scheme == Uri.UriSchemeHttp && jwt!.RequireHttpsMetadata)
            {
                // Caught here rather than as a 500 on the first bearer request.
                errors.Add($"Gateway:Security:Jwt:Authority '{authority}' is plain http: use https, or set Gateway:Security:Jwt:RequireHttpsMetadata=false (tests and local development only).");
            }
        }
    }
}
