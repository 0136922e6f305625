using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Gateway.Http;

/// <summary>
/// Turns broker errors, unreadable or oversized request bodies and unavailable clusters into problem details, so every
/// gateway error has the same shape.
/// </summary>
internal sealed partial class GatewayErrorMiddleware(RequestDelegate next, ILogger<GatewayErrorMiddleware> logger, Microsoft.Extensions.Options.IOptions<OrleansMQGatewayOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        IResult problem;
        try
        {
            await EnforceBodyLimitAsync(context);
            await next(context);
            return;
        }
        catch (OrleansMQException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            problem = GatewayProblems.For(ex, context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            problem = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? GatewayProblems.Create(ErrorCode.MessageTooLarge, ex.StatusCode, $"The request body is larger than {options.Value.MaxHttpBodyBytes} bytes.", context)
                : GatewayProblems.Create(ErrorCode.InvalidArgument, ex.StatusCode, (ex.InnerException ?? ex).Message, context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && IsUnavailable(ex))
        {
            LogUnavailable(logger, ex, context.Request.Path);
            context.Response.Clear();
            problem = GatewayProblems.Create(ErrorCode.Internal, StatusCodes.Status503ServiceUnavailable, "The broker is unavailable; retry later.", context);
        }

        await problem.ExecuteAsync(context);
    }

    /// <summary>
    /// Kestrel answers an oversized body with a bare 413 once the endpoint reads it; checking first gives the client
    /// problem details instead. A chunked body is read up to the limit here (and replayed to the endpoint).
    /// </summary>
    private async Task EnforceBodyLimitAsync(HttpContext context)
    {
        var limit = options.Value.MaxHttpBodyBytes;
        var request = context.Request;
        if (request.ContentLength is { } length)
        {
            if (length > limit)
            {
                throw new OrleansMQException(ErrorCode.MessageTooLarge, $"The request body is {length} bytes; the limit is {limit} bytes.");
            }

            return;
        }

        if ((!HttpMethods.IsPost(request.Method) && !HttpMethods.IsPut(request.Method)) || context.WebSockets.IsWebSocketRequest)
        {
            return;
        }

        var buffered = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffered.Length + read > limit)
            {
                throw new OrleansMQException(ErrorCode.MessageTooLarge, $"The request body is more than {limit} bytes; the limit is {limit} bytes.");
            }

            buffered.Write(chunk, 0, read);
        }

        buffered.Position = 0;
        request.Body = buffered;
        context.Response.RegisterForDispose(buffered);
    }

    private static bool IsUnavailable(Exception ex) => ex is TimeoutException or OrleansException;

    [LoggerMessage(3101, LogLevel.Warning, "Gateway request {Path}: the broker is unavailable")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string path);
}
