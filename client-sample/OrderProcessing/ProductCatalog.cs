using System.Collections.Concurrent;

namespace OrleansMQ.OrderProcessing;

/// <summary>
/// The products the warehouse can ship. The processor refuses orders with a product missing here; the sample "fixes"
/// the failure by adding the product, then re-drives the dead-lettered orders.
/// </summary>
internal sealed class ProductCatalog
{
    private readonly ConcurrentDictionary<string, bool> _skus = new(StringComparer.Ordinal)
    {
        ["BOOK-1"] = true,
        ["MUG-2"] = true,
        ["LAMP-3"] = true,
        ["DESK-4"] = true,
    };

    public bool Contains(string sku) => _skus.ContainsKey(sku);

    public void Add(string sku) => _skus[sku] = true;
}
