using System.Globalization;

namespace OrleansMQ.Gateway.Http;

/// <summary>
/// The id of one delivery over HTTP: <c>{partition}-{offset}-{attempt}</c>. It names the delivery by itself, so any
/// gateway node can settle it with the subscription grain even when the pull session that handed it out is gone.
/// </summary>
internal readonly record struct DeliveryId(int Partition, long Offset, int Attempt)
{
    public static DeliveryId Of(Client.Delivery delivery) => new(delivery.Partition, delivery.Offset, delivery.DeliveryCount);

    public static DeliveryId Of(DeliveredMessage delivery) => new(delivery.Message.Partition, delivery.Message.Offset, delivery.DeliveryCount);

    public DeliveryTag Tag => new(Offset, Attempt);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Partition}-{Offset}-{Attempt}");

    public static DeliveryId Parse(string text)
    {
        var parts = text.Split('-');
        if (parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var attempt)
            && attempt >= 1)
        {
            return new DeliveryId(partition, offset, attempt);
        }

        throw new OrleansMQException(ErrorCode.InvalidArgument,
            $"'{(text.Length > 60 ? text[..60] + "…" : text)}' is not a delivery id ({{partition}}-{{offset}}-{{attempt}}).");
    }
}
