using OrleansMQ.Testing;

namespace OrleansMQ.Cli.Tests;

/// <summary>The test classes that need a broker share one real silo-host process (each test uses its own names).</summary>
[CollectionDefinition(Name)]
public sealed class BrokerCollection : ICollectionFixture<SiloHostFixture>
{
    public const string Name = "silo-host";
}
