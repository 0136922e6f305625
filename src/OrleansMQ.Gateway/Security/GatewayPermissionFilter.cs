using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansMQ.Gateway.Security;

/// <summary>Checks an HTTP endpoint's permission through <see cref="IGatewayAuthorizer"/> before the endpoint runs.</summary>
internal static class GatewayPermissionFilter
{
    /// <summary>
    /// Requires <paramref name="action"/> on the resource named by the route value <c>topic</c>, <c>queue</c> or
    /// <c>exchange</c> (after <paramref name="kind"/>). A denial never reaches the endpoint, so nothing is written.
    /// </summary>
    public static RouteHandlerBuilder Requires(this RouteHandlerBuilder builder, GatewayAction action, GatewayResourceKind kind)
    {
        var permission = new GatewayPermission(action, kind);
        return builder
            .WithMetadata(permission)
            .AddEndpointFilter(async (context, next) =>
            {
                Check(context.HttpContext, permission);
                return await next(context);
            })
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
    }

    /// <summary>Throws Unauthorized/Forbidden unless the request's user has <paramref name="permission"/> on the routed resource.</summary>
    public static void Check(HttpContext http, GatewayPermission permission)
    {
        var name = http.GetRouteValue(permission.RouteValue) as string ?? "";
        http.RequestServices.GetRequiredService<IGatewayAuthorizer>().Authorize(http.User, permission.Action, permission.Kind, name);
    }
}
