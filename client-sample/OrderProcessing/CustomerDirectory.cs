using System.Collections.Frozen;

namespace OrleansMQ.OrderProcessing;

/// <summary>The reference data the enrichment transform looks customers up in (a database or a service in a real shop).</summary>
internal sealed class CustomerDirectory
{
    private readonly FrozenDictionary<string, Customer> _customers = new Customer[]
    {
        new("c-100", "Ada Lovelace", "gold"),
        new("c-200", "Grace Hopper", "silver"),
        new("c-300", "Alan Turing", "standard"),
        new("c-400", "Edsger Dijkstra", "gold"),
        new("c-500", "Barbara Liskov", "standard"),
    }.ToFrozenDictionary(c => c.Id, StringComparer.Ordinal);

    public Customer? Find(string id) => _customers.GetValueOrDefault(id);
}
