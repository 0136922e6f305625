#pragma warning disable CS1591
namespace OrleansMQ.Server.Storage;
public sealed class FileLogOptions { public string DataDirectory { get; set; } = ""; public long SegmentBytes { get; set; } }
public sealed class FileMessageLogFactory(FileLogOptions o) : IMessageLogFactory { public ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default) => throw new NotSupportedException(o.DataDirectory); }
public sealed class FileGrainStorageOptions { public string Directory { get; set; } = ""; }
public sealed class FileGrainStorage(string name, FileGrainStorageOptions o, Orleans.Serialization.Serializer s) : Orleans.Storage.IGrainStorage
{
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => throw new NotSupportedException(name + o + s);
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => throw new NotSupportedException();
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => throw new NotSupportedException();
}
public sealed class FileMessageLog;
