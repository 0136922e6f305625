using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.OrderProcessing;

/// <summary>Names shared by the publisher, the bindings and the processor.</summary>
internal static class OrderEvents
{
    /// <summary>The CloudEvents <c>type</c> the region bindings wrap orders in.</summary>
    public const string CreatedType = "com.example.shop.order.created";

    /// <summary>The CloudEvents <c>source</c>.</summary>
    public const string Source = "/shop/orders";

    /// <summary>The product that is not in the catalog when the run starts (a new gift card).</summary>
    public const string NewProduct = "GIFT-50";

    /// <summary>Regions that have a processing queue; <c>apac</c> orders are only audited.</summary>
    public static readonly string[] ProcessedRegions = ["eu", "us"];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string RoutingKey(string region) => $"orders.{region}.created";

    /// <summary>
    /// The run's orders, deterministic: order <c>i</c> (1-based) goes to eu when <c>i % 3 == 1</c>, us when
    /// <c>i % 3 == 2</c>, apac otherwise; every fifth order contains <see cref="NewProduct"/>.
    /// </summary>
    public static IEnumerable<Order> Generate(int count)
    {
        string[] skus = ["BOOK-1", "MUG-2", "LAMP-3", "DESK-4"];
        string[] customers = ["c-100", "c-200", "c-300", "c-400", "c-500"];
        for (var i = 1; i <= count; i++)
        {
            var region = (i % 3) switch { 1 => "eu", 2 => "us", _ => "apac" };
            var lines = new List<OrderLine> { new(skus[i % skus.Length], 1 + (i % 4), 10m + (i % 7) * 5m) };
            if (i % 5 == 0)
            {
                lines.Add(new OrderLine(NewProduct, 1, 50m));
            }

            yield return new Order(string.Create(CultureInfo.InvariantCulture, $"o-{i:D4}"), customers[i % customers.Length], region, lines);
        }
    }
}
