using System.Globalization;
using System.Security.Claims;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// When a session authenticated by a bearer token must end: long-lived sessions (STOMP, WebSocket streams) check the
/// token once when they open, so they close themselves at the token's <c>exp</c> (plus the tolerated clock skew, the
/// same point at which a new session with that token would be refused).
/// </summary>
internal static class TokenExpiry
{
    /// <summary>The JWT expiry claim.</summary>
    public const string ExpiresClaim = "exp";

    /// <summary>The ERROR message / close reason of a session whose token expired.</summary>
    public const string Message = "token expired";

    /// <summary>The instant <paramref name="principal"/> stops being valid, or <c>null</c> when it has no expiry (an API key, anonymous).</summary>
    public static DateTimeOffset? Of(ClaimsPrincipal? principal, TimeSpan clockSkew)
    {
        if (principal?.Identity?.IsAuthenticated != true || principal.FindFirst(ExpiresClaim)?.Value is not { } value
            || !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return null;
        }

        return DateTimeOffset.FromUnixTimeSeconds((long)seconds) + clockSkew;
    }

    /// <summary>Completes at <paramref name="expiresAt"/> on <paramref name="time"/>'s clock; throws when <paramref name="cancellationToken"/> fires first.</summary>
    public static async Task WaitAsync(DateTimeOffset expiresAt, TimeProvider time, CancellationToken cancellationToken)
    {
        // Task.Delay takes at most ~49 days; a token may live longer, so wait in steps.
        var step = TimeSpan.FromDays(1);
        for (var remaining = expiresAt - time.GetUtcNow(); remaining > TimeSpan.Zero; remaining = expiresAt - time.GetUtcNow())
        {
            await Task.Delay(remaining < step ? remaining : step, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The typed error a session ends with.</summary>
    public static OrleansMQException Expired(DateTimeOffset expiresAt) =>
        new(ErrorCode.Unauthorized, FormattableString.Invariant($"The bearer token of this session expired at {expiresAt:O} (exp plus Gateway:Security:Jwt:ClockSkew); reconnect with a new token."));
}
