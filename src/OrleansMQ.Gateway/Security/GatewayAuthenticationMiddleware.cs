using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansMQ.Gateway.Http;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// The first step of every gateway request: authenticates it (API key or bearer token, see
/// <see cref="GatewayAuthentication"/>) and sets <c>HttpContext.User</c>; then, for an endpoint that declares a
/// <see cref="GatewayPermission"/>, checks it, so a refused request is answered (401/403 problem details) before its
/// body is read. Credentials that are present but invalid or expired are refused even where anonymous access is
/// allowed; no credentials leave an anonymous user for <see cref="IGatewayAuthorizer"/> to judge.
/// </summary>
internal sealed class GatewayAuthenticationMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            if (GatewayAuthentication.SelectScheme(context) == JwtBearerDefaults.AuthenticationScheme
                && !context.RequestServices.GetRequiredService<IOptions<OrleansMQGatewayOptions>>().Value.Security.Jwt.Enabled)
            {
                throw new OrleansMQException(ErrorCode.Unauthorized, "Bearer tokens are not accepted: Gateway:Security:Jwt has no signing key or authority.");
            }

            var result = await context.AuthenticateAsync(GatewayAuthentication.Scheme);
            if (result.Succeeded)
            {
                context.User = result.Principal;
            }
            else if (result.Failure is { } failure)
            {
                throw new OrleansMQException(ErrorCode.Unauthorized, TokenFailures.Describe(failure));
            }

            if (context.GetEndpoint()?.Metadata.GetMetadata<GatewayPermission>() is { } permission)
            {
                GatewayPermissionFilter.Check(context, permission);
            }
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.Unauthorized || ex.Code == ErrorCode.Forbidden)
        {
            await GatewayProblems.For(ex, context).ExecuteAsync(context);
            return;
        }

        await next(context);
    }
}
