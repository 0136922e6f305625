namespace OrleansMQ.Faults.Nemesis;

/// <summary>Placeholder replaced below.</summary>
internal sealed class StorageErrorScenario : FaultScenario
{
    public override string Name => "storage-errors";

    protected override Task ExecuteAsync() => throw new NotImplementedException();
}
