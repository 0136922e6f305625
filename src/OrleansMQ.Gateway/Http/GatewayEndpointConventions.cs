using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace OrleansMQ.Gateway.Http;

/// <summary>OpenAPI metadata shared by the gateway's endpoints.</summary>
internal static class GatewayEndpointConventions
{
    /// <summary>Documents the problem-details answers every broker call can give.</summary>
    public static RouteHandlerBuilder ProducesGatewayProblems(this RouteHandlerBuilder builder) => builder
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
