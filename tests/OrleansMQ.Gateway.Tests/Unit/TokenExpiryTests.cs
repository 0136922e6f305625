using System.Security.Claims;
using Microsoft.Extensions.Time.Testing;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.Tests.Unit;

/// <summary>When a token-authenticated session must end, on a fake clock.</summary>
public sealed class TokenExpiryTests
{
    private static readonly DateTimeOffset Exp = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_token_principal_expires_at_exp_plus_the_clock_skew_and_others_never()
    {
        var token = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "svc"), new Claim("exp", Exp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture))], "Bearer"));
        var apiKey = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "svc")], "ApiKey"));

        Assert.Equal(Exp + TimeSpan.FromSeconds(30), TokenExpiry.Of(token, TimeSpan.FromSeconds(30)));
        Assert.Null(TokenExpiry.Of(apiKey, TimeSpan.FromSeconds(30)));
        Assert.Null(TokenExpiry.Of(new ClaimsPrincipal(new ClaimsIdentity()), TimeSpan.Zero));
        Assert.Null(TokenExpiry.Of(null, TimeSpan.Zero));
    }

    [Fact]
    public async Task Waiting_ends_exactly_when_the_clock_reaches_the_expiry()
    {
        var time = new FakeTimeProvider(Exp - TimeSpan.FromDays(3));
        var wait = TokenExpiry.WaitAsync(Exp, time, CancellationToken.None);

        // Longer than one Task.Delay step (a day), so the wait is taken in several steps.
        time.Advance(TimeSpan.FromDays(3) - TimeSpan.FromSeconds(1));
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(wait.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Waiting_is_cancelled_when_the_session_ends_first()
    {
        var time = new FakeTimeProvider(Exp - TimeSpan.FromMinutes(5));
        using var ended = new CancellationTokenSource();
        var wait = TokenExpiry.WaitAsync(Exp, time, ended.Token);

        await ended.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
