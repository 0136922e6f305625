using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Orleans grain storage in local files, for embedded (single-silo) mode: one file per grain state, replaced atomically
/// (write a temporary file, fsync, rename over, fsync the directory), with optimistic concurrency on a version number.
/// </summary>
/// <remarks>
/// <para>
/// Layout: <c>{RootDirectory}/{state name}/{grain id}-{hash}.state</c>, where the readable parts keep only
/// <c>[A-Za-z0-9._-]</c> (other characters become '_', long ones are cut) and the hash (SHA-256 of the exact state name and
/// grain id, 64 bits) keeps any two grains apart. The exact identity is also stored in the file and checked on read.
/// </para>
/// <para>
/// File format (little-endian): u32 magic "OMQS", u8 format (1), u8 flags (1 = cleared), u16 reserved, i64 version,
/// i32 identity length + UTF-8 identity, i32 state length + state (Orleans <see cref="Serializer"/>), u32 CRC-32C of all
/// the preceding bytes. The ETag is the version; a write or clear whose ETag is not the stored one throws
/// <see cref="InconsistentStateException"/>. A file that fails its checks throws <see cref="InvalidDataException"/>: it is
/// never silently replaced.
/// </para>
/// <para>
/// With <see cref="FileGrainStorageOptions.Journal"/> (and fsync on), changes are group-committed to a write-ahead journal
/// instead (<see cref="StateJournal"/>: one fdatasync for all the changes queued meanwhile), and the state files are
/// replaced durably only when the journal is checkpointed (full, or at dispose); reads see the journaled content.
/// </para>
/// <para>
/// Blocking writes and fsyncs run on <see cref="FileGrainStorageOptions.WriterThreads"/> dedicated threads. Compare-and-write
/// is atomic within this process (striped locks); the store assumes one silo owns the directory.
/// </para>
/// </remarks>
public sealed class FileGrainStorage : IGrainStorage, IDisposable
{
    private const uint Magic = 0x53514D4F; // "OMQS"
    private const byte Format = 1;
    private const byte ClearedFlag = 1;
    private const int HeaderSize = 16;
    private const int MaxReadableName = 100;

    private readonly string _name;
    private readonly string _root;
    private readonly bool _deleteOnClear;
    private readonly bool _fsync;
    private readonly Serializer _serializer;
    private readonly IActivatorProvider? _activatorProvider;
    private readonly BlockingIoThreads _io;
    private readonly object[] _stripes = new object[64];
    private readonly Lazy<StateJournal?> _journal;

    /// <summary>Creates the storage. Nothing touches the disk until the first write.</summary>
    /// <param name="name">The storage provider name (used in messages).</param>
    /// <param name="options">The options; validated here (<see cref="FileGrainStorageOptionsValidator"/>).</param>
    /// <param name="serializer">The Orleans serializer for the states.</param>
    /// <param name="activatorProvider">Creates the empty state of a grain without a record (as Orleans' own providers do); without it, <see cref="Activator"/> is used.</param>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public FileGrainStorage(string name, FileGrainStorageOptions options, Serializer serializer, IActivatorProvider? activatorProvider = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(serializer);
        var validation = new FileGrainStorageOptionsValidator().Validate(name, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(name, typeof(FileGrainStorageOptions), validation.Failures);
        }

        _name = name;
        _root = Path.GetFullPath(options.RootDirectory);
        _deleteOnClear = options.DeleteStateOnClear;
        _fsync = options.FsyncPolicy == FsyncPolicy.Always;
        _serializer = serializer;
        _activatorProvider = activatorProvider;
        _io = new BlockingIoThreads($"OrleansMQ grain storage '{name}'", options.WriterThreads);
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new object();
        }

        // Opened at the first read or write: a journal left by a crash is applied before anything reads a state file,
        // even when journaling is now off (then it is deleted afterwards).
        var journal = options.Journal && _fsync;
        var capacity = options.JournalBytes;
        _journal = new(() => StateJournal.Open(_root, capacity, journal, ApplyDurably), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The journal, once opened (null when journaling is off), for tests.</summary>
    internal StateJournal? Journal => _journal.IsValueCreated ? _journal.Value : null;

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var (path, identity) = Locate(stateName, grainId);
        byte[]? bytes;
        if (await JournalAsync().ConfigureAwait(false) is { } journal && journal.TryGetLatest(path, out bytes))
        {
            if (bytes is null)
            {
                Reset(grainState, etag: null);
                return;
            }
        }
        else
        {
            try
            {
                bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                Reset(grainState, etag: null);
                return;
            }
        }

        var stored = Parse(bytes, path, identity);
        if (stored.Cleared)
        {
            Reset(grainState, ETag(stored.Version));
            return;
        }

        grainState.State = _serializer.Deserialize<T>(stored.State);
        grainState.ETag = ETag(stored.Version);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    /// <exception cref="InconsistentStateException">The state's ETag is not the stored one.</exception>
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var (path, identity) = Locate(stateName, grainId);
        var state = _serializer.SerializeToArray(grainState.State);
        var expected = grainState.ETag;
        var version = await ChangeAsync(path, identity, expected, state, cleared: false, "write", stateName, grainId).ConfigureAwait(false);
        grainState.ETag = version is { } v ? ETag(v) : null;
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    /// <exception cref="InconsistentStateException">The state's ETag is not the stored one.</exception>
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var (path, identity) = Locate(stateName, grainId);
        var expected = grainState.ETag;
        var version = await ChangeAsync(path, identity, expected, [], cleared: true, "clear", stateName, grainId).ConfigureAwait(false);
        Reset(grainState, version is { } v ? ETag(v) : null);
    }

    /// <summary>Finishes queued writes, checkpoints the journal (if any) and stops the writer threads.</summary>
    public void Dispose()
    {
        if (_journal.IsValueCreated)
        {
            _journal.Value?.Dispose();
        }

        _io.Dispose();
    }

    // The journal (null when off). The first call opens it, applying a crash's journal, on a writer thread: blocking I/O.
    private async ValueTask<StateJournal?> JournalAsync() =>
        _journal.IsValueCreated ? _journal.Value : await _io.RunAsync(() => _journal.Value).ConfigureAwait(false);

    private async Task<long?> ChangeAsync(string path, string identity, string? expectedETag, byte[] state, bool cleared, string operation, string stateName, GrainId grainId)
    {
        if (await JournalAsync().ConfigureAwait(false) is { } journal)
        {
            return await journal.CommitAsync(path, current => Decide(current, path, identity, expectedETag, state, cleared, operation, stateName, grainId)).ConfigureAwait(false);
        }

        return await _io.RunAsync(() => CompareAndWrite(path, identity, expectedETag, state, cleared, operation, stateName, grainId)).ConfigureAwait(false);
    }

    // Runs on a writer thread. Returns the new version; null when the record is gone (cleared with DeleteStateOnClear, or
    // a clear of a state that never existed).
    private long? CompareAndWrite(string path, string identity, string? expectedETag, byte[] state, bool cleared, string operation, string stateName, GrainId grainId)
    {
        lock (_stripes[(uint)path.GetHashCode(StringComparison.Ordinal) % _stripes.Length])
        {
            var current = File.Exists(path) ? File.ReadAllBytes(path) : null;
            var (content, version) = Decide(current, path, identity, expectedETag, state, cleared, operation, stateName, grainId);
            if (content is not null || current is not null)
            {
                ApplyDurably(path, content);
            }

            return version;
        }
    }

    // The new file content (null: no file) and version for a change of a file whose content is current (null: no file).
    private (byte[]? Content, long? Version) Decide(byte[]? current, string path, string identity, string? expectedETag, byte[] state, bool cleared, string operation, string stateName, GrainId grainId)
    {
        long? version = current is null ? null : Parse(current, path, identity).Version;
        var storedETag = version is { } c ? ETag(c) : null;
        if (!string.Equals(storedETag, expectedETag, StringComparison.Ordinal))
        {
            throw new InconsistentStateException(
                $"File grain storage '{_name}': cannot {operation} state '{stateName}' of grain {grainId}: the ETag is '{expectedETag ?? "(none)"}' but the stored one is '{storedETag ?? "(none)"}'.",
                storedETag, expectedETag);
        }

        if (cleared && (version is null || _deleteOnClear))
        {
            return (null, null);
        }

        var next = (version ?? 0) + 1;
        return (Serialize(identity, next, cleared, state), next);
    }

    // Replaces (or, for null content, deletes) a state file, durably when fsync is on.
    private void ApplyDurably(string path, byte[]? content)
    {
        if (content is not null)
        {
            Replace(path, content);
        }
        else if (File.Exists(path))
        {
            File.Delete(path);
            SyncDirectory(Path.GetDirectoryName(path)!);
        }
    }

    private void Replace(string path, byte[] content)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory);
            SyncDirectory(Path.GetDirectoryName(directory)!);
        }

        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(content);
                if (_fsync)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        SyncDirectory(directory);
    }

    private void SyncDirectory(string directory)
    {
        if (_fsync)
        {
            DirectorySync.Flush(directory);
        }
    }

    private void Reset<T>(IGrainState<T> grainState, string? etag)
    {
        grainState.State = _activatorProvider is { } provider ? provider.GetActivator<T>().Create() : Activator.CreateInstance<T>();
        grainState.ETag = etag;
        grainState.RecordExists = false;
    }

    private (string Path, string Identity) Locate(string stateName, GrainId grainId)
    {
        var id = grainId.ToString();
        var identity = $"{stateName}\n{id}";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(identity));
        var file = $"{Readable(id)}-{Convert.ToHexStringLower(hash.AsSpan(0, 8))}.state";
        return (Path.Combine(_root, Readable(stateName), file), identity);
    }

    // Keeps [A-Za-z0-9._-], maps anything else to '_', and cuts long names (the hash next to it disambiguates).
    private static string Readable(string value)
    {
        var length = Math.Min(value.Length, MaxReadableName);
        var result = string.Create(length, value, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                var c = source[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_';
            }
        });
        return result is "" or "." or ".." ? "_" : result;
    }

    private static string ETag(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static byte[] Serialize(string identity, long version, bool cleared, byte[] state)
    {
        var identityLength = Encoding.UTF8.GetByteCount(identity);
        var content = new byte[HeaderSize + 4 + identityLength + 4 + state.Length + 4];
        var span = content.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        span[4] = Format;
        span[5] = cleared ? ClearedFlag : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], version);
        var pos = HeaderSize;
        BinaryPrimitives.WriteInt32LittleEndian(span[pos..], identityLength);
        pos += 4;
        pos += Encoding.UTF8.GetBytes(identity, span[pos..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[pos..], state.Length);
        pos += 4;
        state.CopyTo(span[pos..]);
        pos += state.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(span[pos..], Crc32C.Compute(span[..pos]));
        return content;
    }

    private static StoredState Parse(byte[] content, string path, string identity)
    {
        var span = content.AsSpan();
        if (span.Length < HeaderSize + 12 || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic || span[4] != Format)
        {
            throw new InvalidDataException($"Grain state file '{path}' is not a state file of a known format.");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(span[^4..]) != Crc32C.Compute(span[..^4]))
        {
            throw new InvalidDataException($"Grain state file '{path}' is corrupt (CRC mismatch).");
        }

        var pos = HeaderSize;
        var identityLength = BinaryPrimitives.ReadInt32LittleEndian(span[pos..]);
        pos += 4;
        if (identityLength < 0 || identityLength > span.Length - pos - 8)
        {
            throw new InvalidDataException($"Grain state file '{path}' is corrupt (identity length {identityLength}).");
        }

        var storedIdentity = Encoding.UTF8.GetString(span.Slice(pos, identityLength));
        if (!string.Equals(storedIdentity, identity, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Grain state file '{path}' belongs to '{storedIdentity.Replace('\n', ' ')}', not '{identity.Replace('\n', ' ')}' (file name hash collision).");
        }

        pos += identityLength;
        var stateLength = BinaryPrimitives.ReadInt32LittleEndian(span[pos..]);
        pos += 4;
        if (stateLength < 0 || stateLength != span.Length - pos - 4)
        {
            throw new InvalidDataException($"Grain state file '{path}' is corrupt (state length {stateLength}).");
        }

        return new StoredState(BinaryPrimitives.ReadInt64LittleEndian(span[8..]), (span[5] & ClearedFlag) != 0, content.AsMemory(pos, stateLength));
    }

    private readonly record struct StoredState(long Version, bool Cleared, ReadOnlyMemory<byte> State);
}
