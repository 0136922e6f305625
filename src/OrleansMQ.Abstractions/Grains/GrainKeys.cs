using System.Globalization;

namespace OrleansMQ;

/// <summary>How OrleansMQ builds grain keys. Names cannot contain '/', so it is a safe separator.</summary>
public static class GrainKeys
{
    /// <summary>The key of a partition grain: <c>{topic}/{partition}</c>.</summary>
    public static string Partition(string topic, int partition) => string.Create(CultureInfo.InvariantCulture, $"{topic}/{partition}");

    /// <summary>The key of a subscription-partition grain: <c>{topic}/{partition}/{subscription}</c>.</summary>
    public static string Subscription(string topic, int partition, string subscription) =>
        string.Create(CultureInfo.InvariantCulture, $"{topic}/{partition}/{subscription}");

    /// <summary>Splits a partition key.</summary>
    public static (string Topic, int Partition) ParsePartition(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key.AsSpan(slash + 1), CultureInfo.InvariantCulture));
    }

    /// <summary>Splits a subscription-partition key.</summary>
    public static (string Topic, int Partition, string Subscription) ParseSubscription(string key)
    {
        var parts = key.Split('/');
        return (parts[0], int.Parse(parts[1], CultureInfo.InvariantCulture), parts[2]);
    }
}
