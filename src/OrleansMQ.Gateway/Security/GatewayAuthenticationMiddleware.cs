using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Authenticates every gateway request (API key or bearer token, see <see cref="GatewayAuthentication"/>) and sets
/// <c>HttpContext.User</c>. Credentials that are present but invalid or expired end the request with 401 at once, even
/// where anonymous access is allowed; no credentials leave an anonymous user for <see cref="IGatewayAuthorizer"/> to judge.
/// </summary>
internal sealed class GatewayAuthenticationMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(GatewayAuthentication.Scheme);
        if (result.Succeeded)
        {
            context.User = result.Principal;
        }
        else if (result.Failure is { } failure)
        {
            throw new OrleansMQException(ErrorCode.Unauthorized, TokenFailures.Describe(failure));
        }

        await next(context);
    }
}
