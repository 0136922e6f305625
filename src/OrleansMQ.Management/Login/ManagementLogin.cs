using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Management.Login;

/// <summary>
/// Browser sign-in for the management page: <c>/ui/login</c> takes an API key or a JWT (checked by the gateway's
/// <see cref="IGatewayAuthenticator"/>, the same keys, tokens and access rules as every other edge) and issues an
/// encrypted, HTTP-only authentication cookie scoped to <c>/ui</c>. Requests under <c>/ui</c> that carry no credential
/// header of their own run as the cookie's user, so page actions are authorized and antiforgery-checked for that user.
/// </summary>
public static class ManagementLogin
{
    /// <summary>The cookie authentication scheme of the page.</summary>
    public const string Scheme = "OrleansMQ.Management";

    /// <summary>The login page.</summary>
    public const string LoginPath = "/ui/login";

    /// <summary>How long a sign-in lasts (sliding). Access rules changed meanwhile apply at the next sign-in.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    /// <summary>
    /// Makes the cookie's user the request's user for <c>/ui</c> requests without an <c>Authorization</c> or
    /// <c>X-Api-Key</c> header. Call it before <c>UseAntiforgery</c> (tokens are bound to the user).
    /// </summary>
    public static IApplicationBuilder UseOrleansMQManagementLogin(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/ui", StringComparison.Ordinal) && !HasCredentialHeader(context.Request))
            {
                var result = await context.AuthenticateAsync(Scheme);
                if (result.Succeeded)
                {
                    context.User = result.Principal;
                }
            }

            await next(context);
        });
    }

    /// <summary>
    /// Guards the page's actions (the route group <c>MapOrleansMQManagement</c> returns) with <paramref name="authorize"/>,
    /// which throws <see cref="OrleansMQException"/> (<see cref="ErrorCode.Unauthorized"/> or <see cref="ErrorCode.Forbidden"/>)
    /// to refuse. Scripts (credential headers) get the gateway's 401/403 answer; a browser is sent to the login page when
    /// nobody is signed in, and back to the page with the refusal shown when the signed-in user lacks the right.
    /// </summary>
    public static RouteGroupBuilder RequireManagementAuthorization(this RouteGroupBuilder actions, Action<ClaimsPrincipal> authorize)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(authorize);
        actions.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            try
            {
                authorize(http.User);
            }
            catch (OrleansMQException ex) when (!HasCredentialHeader(http.Request) && ex.Code is ErrorCode.Unauthorized or ErrorCode.Forbidden)
            {
                var back = ReturnPage(http.Request);
                return http.User.Identity?.IsAuthenticated == true
                    ? Results.Redirect($"{back}{(back.Contains('?', StringComparison.Ordinal) ? '&' : '?')}error={Uri.EscapeDataString($"{ex.Code}: {ex.Message}")}")
                    : Results.Redirect($"{LoginPath}?returnUrl={Uri.EscapeDataString(back)}");
            }

            return await next(context);
        });
        return actions;
    }

    /// <summary>Signs <paramref name="user"/> in (a cookie with its claims).</summary>
    internal static Task SignInAsync(HttpContext context, ClaimsPrincipal user)
    {
        var source = user.Identities.First(i => i.IsAuthenticated);
        var identity = new ClaimsIdentity(source.Claims, Scheme, source.NameClaimType, source.RoleClaimType);
        return context.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
    }

    internal static void AddCookie(IServiceCollection services) =>
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = "omq.ui";
            o.Cookie.Path = "/ui";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = Lifetime;
            o.SlidingExpiration = true;
            o.LoginPath = LoginPath;
        });

    private static bool HasCredentialHeader(HttpRequest request) =>
        request.Headers.Authorization.Count > 0 || request.Headers.ContainsKey("X-Api-Key");

    // The page the form was on (same origin only), else the overview.
    private static string ReturnPage(HttpRequest request) =>
        Uri.TryCreate(request.Headers.Referer.ToString(), UriKind.Absolute, out var referer)
        && string.Equals(referer.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
        && referer.AbsolutePath.StartsWith("/ui", StringComparison.Ordinal)
        && referer.AbsolutePath != LoginPath
            ? referer.AbsolutePath
            : "/ui";
}
