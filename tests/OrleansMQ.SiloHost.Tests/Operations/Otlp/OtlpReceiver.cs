using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests.Operations.Otlp;

/// <summary>
/// A real OTLP/HTTP receiver (protocol http/protobuf) on a loopback Kestrel port: it takes <c>POST /v1/metrics</c> and
/// <c>POST /v1/traces</c> like an OpenTelemetry collector, keeps every body, and answers 200 with an empty (valid) response message.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    /// <summary>The base address silo-host exports to.</summary>
    public string Endpoint { get; }

    /// <summary>Bodies of POST /v1/metrics, in arrival order.</summary>
    public ConcurrentQueue<byte[]> Metrics { get; } = new();

    /// <summary>Bodies of POST /v1/traces, in arrival order.</summary>
    public ConcurrentQueue<byte[]> Traces { get; } = new();

    /// <summary>Requests refused (wrong content type), as "path content-type".</summary>
    public ConcurrentQueue<string> Refused { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var port = LoopbackPorts.Reserve(1)[0];
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, port);
        app.MapPost("/v1/metrics", context => receiver.TakeAsync(context, receiver.Metrics));
        app.MapPost("/v1/traces", context => receiver.TakeAsync(context, receiver.Traces));
        await app.StartAsync();
        return receiver;
    }

    private async Task TakeAsync(HttpContext context, ConcurrentQueue<byte[]> into)
    {
        if (context.Request.ContentType != "application/x-protobuf")
        {
            Refused.Enqueue($"{context.Request.Path} {context.Request.ContentType}");
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        into.Enqueue(body.ToArray());
        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = StatusCodes.Status200OK; // empty body: an Export*ServiceResponse with no partial success
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
