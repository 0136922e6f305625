namespace OrleansMQ.Grains;

/// <summary>The names of all exchanges (one grain, key <see cref="Key"/>), kept by the exchange grains as they are created and deleted.</summary>
[Alias("omq.IExchangeDirectoryGrain")]
public interface IExchangeDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key of the one directory grain.</summary>
    public const string Key = "all";

    /// <summary>Records an exchange.</summary>
    [Alias("Add")]
    Task AddAsync(string exchange);

    /// <summary>Forgets an exchange.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string exchange);

    /// <summary>All exchange names in ordinal order.</summary>
    [Alias("List")]
    Task<IReadOnlyList<string>> ListAsync();
}
