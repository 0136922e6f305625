using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Cli.Views;

/// <summary>
/// The JSON shapes omq prints (source-generated: no reflection at startup). camelCase names, nulls left out.
/// <see cref="JsonSerializerContext"/>'s <c>Default</c> writes indented documents; <see cref="Lines"/> one line each.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<TopicSummaryView>))]
[JsonSerializable(typeof(TopicView))]
[JsonSerializable(typeof(DeletedView))]
[JsonSerializable(typeof(IReadOnlyList<QueueSummaryView>))]
[JsonSerializable(typeof(QueueView))]
[JsonSerializable(typeof(IReadOnlyList<SubscriptionSummaryView>))]
[JsonSerializable(typeof(SubscriptionView))]
[JsonSerializable(typeof(SeekView))]
[JsonSerializable(typeof(MessageView))]
[JsonSerializable(typeof(PublishReceiptView))]
[JsonSerializable(typeof(RoutedReceiptView))]
[JsonSerializable(typeof(DeadLetterListView))]
[JsonSerializable(typeof(RedriveView))]
[JsonSerializable(typeof(ExchangeView))]
[JsonSerializable(typeof(IReadOnlyList<ExchangeSummaryView>))]
[JsonSerializable(typeof(ClusterStatusView))]
[JsonSerializable(typeof(OrleansMQ.Load.BenchResult))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    private static CliJsonContext? _lines;

    /// <summary>The same shapes, one JSON value per line (JSON lines for streams).</summary>
    /// <remarks>Lazy: the generated <c>Default</c> lives in another part of this class, and static initializers of partial classes run in no defined order.</remarks>
    public static CliJsonContext Lines => _lines ??= new(new JsonSerializerOptions(Default.Options) { WriteIndented = false });
}
