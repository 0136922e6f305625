using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using OrleansMQ.Gateway.Http;
using OrleansMQ.Gateway.Stomp;
using OrleansMQ.Gateway.Stomp.Transport;
using OrleansMQ.Gateway.WebSockets;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the OrleansMQ gateway's HTTP endpoints.</summary>
public static class OrleansMQGatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the REST API (<c>/topics</c>, <c>/queues</c>, <c>/exchanges</c>), the OpenAPI document
    /// (<c>/openapi/v1.json</c>), the WebSocket streaming consume protocol
    /// (<c>/topics/{topic}/subscriptions/{subscription}/stream</c>, <c>/queues/{queue}/stream</c>), STOMP over WebSocket (<c>/stomp</c>) and <c>/health</c>. On a <see cref="WebApplication"/>
    /// it also adds the WebSocket and problem-details error middleware.
    /// </summary>
    public static IEndpointRouteBuilder MapOrleansMQGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints is IApplicationBuilder app)
        {
            app.UseMiddleware<GatewayErrorMiddleware>();
            app.UseWebSockets();
        }

        endpoints.MapOpenApi();
        var topics = endpoints.MapGroup("/topics").WithTags("Topics");
        var queues = endpoints.MapGroup("/queues").WithTags("Queues");
        var exchanges = endpoints.MapGroup("/exchanges").WithTags("Exchanges");
        AdminEndpoints.Map(topics, queues, exchanges);
        PublishEndpoints.Map(topics, queues, exchanges);
        ConsumeEndpoints.Map(topics, queues);
        DeadLetterEndpoints.Map(topics, queues);
        StreamEndpoints.Map(topics, queues);

        endpoints.Map("/stomp", (HttpContext context, StompSessionFactory sessions) => StompWebSocketEndpoint.HandleAsync(context, sessions))
            .ExcludeFromDescription();
        endpoints.MapGet("/health", (IHostApplicationLifetime lifetime) => lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested
                ? Results.Ok(new { status = "ok" })
                : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Starting or stopping"))
            .WithName("Health").WithSummary("200 once the silo and gateway have started.").WithTags("Health");
        return endpoints;
    }
}
