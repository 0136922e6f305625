using Google.Protobuf;

namespace OrleansMQ.SiloHost.Tests.Operations.Otlp;

/// <summary>
/// Reads the parts of OTLP export requests the tests check, straight from the protobuf wire format with Google.Protobuf's
/// <see cref="CodedInputStream"/> (the OTLP .proto files are not vendored here; the field numbers below are the ones in
/// opentelemetry-proto's collector/metrics, collector/trace, metrics/v1, trace/v1 and common/v1 messages). A body that is
/// not a well-formed message throws <see cref="InvalidProtocolBufferException"/>; an empty one yields nothing.
/// </summary>
internal static class OtlpWire
{
    /// <summary>One data point of a monotonic sum (a counter): the instrument, its scope, the value and the string attributes.</summary>
    public sealed record SumPoint(string Scope, string Metric, long Value, IReadOnlyDictionary<string, string> Attributes);

    /// <summary>One span: its scope (the activity source), its name and trace id (hex).</summary>
    public sealed record Span(string Scope, string Name, string TraceId);

    /// <summary>Every metric of an ExportMetricsServiceRequest as (scope name, metric name).</summary>
    public static IEnumerable<(string Scope, string Metric)> Metrics(byte[] request)
    {
        foreach (var resourceMetrics in Fields(request, 1)) // ExportMetricsServiceRequest.resource_metrics
        {
            foreach (var scopeMetrics in Fields(resourceMetrics, 2)) // ResourceMetrics.scope_metrics
            {
                var scope = ScopeName(scopeMetrics);
                foreach (var metric in Fields(scopeMetrics, 2)) // ScopeMetrics.metrics
                {
                    yield return (scope, Text(metric, 1)); // Metric.name
                }
            }
        }
    }

    /// <summary>The integer data points of every sum metric in an ExportMetricsServiceRequest.</summary>
    public static IEnumerable<SumPoint> SumPoints(byte[] request)
    {
        foreach (var resourceMetrics in Fields(request, 1))
        {
            foreach (var scopeMetrics in Fields(resourceMetrics, 2))
            {
                var scope = ScopeName(scopeMetrics);
                foreach (var metric in Fields(scopeMetrics, 2))
                {
                    var name = Text(metric, 1);
                    foreach (var sum in Fields(metric, 7)) // Metric.sum
                    {
                        foreach (var point in Fields(sum, 1)) // Sum.data_points (NumberDataPoint)
                        {
                            var attributes = Fields(point, 7).ToDictionary(kv => Text(kv, 1), kv => Fields(kv, 2).Select(v => Text(v, 1)).FirstOrDefault() ?? "");
                            yield return new SumPoint(scope, name, Fixed64(point, 6), attributes); // NumberDataPoint.as_int (sfixed64)
                        }
                    }
                }
            }
        }
    }

    /// <summary>Every span of an ExportTraceServiceRequest.</summary>
    public static IEnumerable<Span> Spans(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1)) // ExportTraceServiceRequest.resource_spans
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2)) // ResourceSpans.scope_spans
            {
                var scope = ScopeName(scopeSpans);
                foreach (var span in Fields(scopeSpans, 2)) // ScopeSpans.spans
                {
                    var traceId = Fields(span, 1).Select(Convert.ToHexStringLower).FirstOrDefault() ?? ""; // Span.trace_id
                    yield return new Span(scope, Text(span, 5), traceId); // Span.name
                }
            }
        }
    }

    // ScopeMetrics.scope / ScopeSpans.scope (InstrumentationScope), its name.
    private static string ScopeName(byte[] scoped) => Fields(scoped, 1).Select(s => Text(s, 1)).FirstOrDefault() ?? "";

    private static string Text(byte[] message, int field) =>
        Fields(message, field).Select(b => System.Text.Encoding.UTF8.GetString(b)).LastOrDefault() ?? "";

    // The length-delimited occurrences of `field` in `message`; every other field is skipped by its wire type.
    private static List<byte[]> Fields(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }

    private static long Fixed64(byte[] message, int field)
    {
        var input = new CodedInputStream(message);
        long value = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.Fixed64)
            {
                value = input.ReadSFixed64();
            }
            else
            {
                input.SkipLastField();
            }
        }

        return value;
    }
}
