using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OrleansMQ.SiloHost;

/// <summary>
/// OpenTelemetry for the silo, from the <c>Telemetry</c> configuration section: the <c>OrleansMQ</c> meter and activity
/// source (plus Orleans' own meter), a Prometheus scrape endpoint and/or an OTLP exporter for metrics and traces.
/// </summary>
internal static class Observability
{
    public static void AddTelemetry(WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("Telemetry");
        var prometheus = section.GetValue("Prometheus:Enabled", true);
        var otlpEndpoint = section.GetValue<string>("Otlp:Endpoint");
        var otlp = !string.IsNullOrWhiteSpace(otlpEndpoint);
        if (!prometheus && !otlp)
        {
            return;
        }

        var serviceName = section.GetValue("ServiceName", "orleansmq-silo")!;
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(OrleansMQTelemetry.Name, "Microsoft.Orleans");
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = new Uri(otlpEndpoint!));
                }
            });
        if (otlp)
        {
            // Traces need somewhere to go: only with OTLP. Orleans' own spans are opt-in (Telemetry:OrleansTraces).
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(OrleansMQTelemetry.Name);
                if (section.GetValue("OrleansTraces", false))
                {
                    tracing.AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application");
                }

                tracing.AddOtlpExporter(o => o.Endpoint = new Uri(otlpEndpoint!));
            });
        }
    }

    public static void MapTelemetry(WebApplication app)
    {
        if (app.Configuration.GetSection("Telemetry").GetValue("Prometheus:Enabled", true))
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }
    }
}
