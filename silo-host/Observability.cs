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
        // grpc (default, the collector's :4317) or http/protobuf (:4318, POST /v1/metrics and /v1/traces under the endpoint).
        var protocol = section.GetValue("Otlp:Protocol", "grpc")!.Trim().ToLowerInvariant() switch
        {
            "grpc" => OpenTelemetry.Exporter.OtlpExportProtocol.Grpc,
            "http/protobuf" or "httpprotobuf" => OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf,
            var other => throw new InvalidOperationException($"Telemetry:Otlp:Protocol is '{other}'; use grpc or http/protobuf."),
        };
        var exportInterval = section.GetValue("Otlp:ExportIntervalMilliseconds", 60_000);
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
                    metrics.AddOtlpExporter((o, reader) =>
                    {
                        Configure(o, otlpEndpoint!, protocol, "v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = exportInterval;
                    });
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

                tracing.AddOtlpExporter(o =>
                {
                    Configure(o, otlpEndpoint!, protocol, "v1/traces");
                    o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = Math.Min(exportInterval, 5_000);
                });
            });
        }
    }

    // An endpoint set in code is used as is: over HTTP it must name the signal's path (the SDK appends it only to the
    // OTEL_EXPORTER_OTLP_ENDPOINT environment variable).
    private static void Configure(OpenTelemetry.Exporter.OtlpExporterOptions options, string endpoint, OpenTelemetry.Exporter.OtlpExportProtocol protocol, string signalPath)
    {
        options.Protocol = protocol;
        options.Endpoint = protocol == OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf
            ? new Uri(endpoint.TrimEnd('/') + "/" + signalPath)
            : new Uri(endpoint);
    }

    public static void MapTelemetry(WebApplication app)
    {
        if (app.Configuration.GetSection("Telemetry").GetValue("Prometheus:Enabled", true))
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }
    }
}
