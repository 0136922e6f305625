using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The on-disk format the write-ahead journals share (the file log's <see cref="FileJournal"/> and the grain state's
/// <see cref="StateJournal"/>): a 4 KiB header (a magic that names the kind of journal, a format version, the current
/// generation, CRC32C) and, from byte 4096, entries one after another: magic, payload length, generation, CRC32C of the
/// payload, then the payload. A file is reused in place: writing the header with the next generation empties it, since the
/// older entries still in the file further on end the scan at their first byte.
/// </summary>
internal static class JournalFile
{
    /// <summary>Entries start here.</summary>
    public const int HeaderBytes = 4096;

    /// <summary>Entry framing before the payload: magic, length, generation, CRC.</summary>
    public const int EntryHeaderBytes = 20;

    private const uint EntryMagic = 0x45514D4F; // "OMQE"
    private const int Version = 1;

    /// <summary>
    /// Opens the journal <paramref name="fileName"/> under <paramref name="root"/>: replays it if there is one (whatever
    /// <paramref name="keep"/> says: a journal left by a crash holds acknowledged changes), then either empties it for new
    /// entries (a header with the next generation) and returns it with that generation (<paramref name="keep"/>), or
    /// deletes it and returns null. Null too when there is none and none is wanted; nothing is then created.
    /// </summary>
    /// <param name="root">The directory the journal lives in (created when a journal is).</param>
    /// <param name="fileName">The journal's file name.</param>
    /// <param name="magic">The header magic of this kind of journal.</param>
    /// <param name="keep">Whether to journal from now on.</param>
    /// <param name="name">The journal in error messages.</param>
    /// <param name="replay">Applies the journal (the handle, its path) and returns its generation; null when its header was never valid.</param>
    /// <exception cref="IOException">The journal, or a file the replay writes, cannot be read or written.</exception>
    public static (SafeFileHandle Handle, ulong Generation)? Open(string root, string fileName, uint magic, bool keep, string name, Func<SafeFileHandle, string, ulong?> replay)
    {
        var path = Path.Combine(root, fileName);
        var exists = File.Exists(path);
        if (!exists && !keep)
        {
            return null;
        }

        Directory.CreateDirectory(root);
        SafeFileHandle handle;
        try
        {
            // FileShare.None takes an exclusive lock (flock on Unix): a journal holds what its silo alone has written,
            // so a second silo (or process) on the same data directory must fail here instead of losing changes.
            handle = File.OpenHandle(path, exists ? FileMode.Open : FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not (FileNotFoundException or DirectoryNotFoundException))
        {
            throw new IOException($"{char.ToUpperInvariant(name[0])}{name[1..]} '{path}' cannot be opened ({ex.Message}). Another silo or process using the same data directory holds it: a data directory serves one silo.", ex);
        }

        try
        {
            // A new journal (or one whose header never became valid) starts at a random generation, so entries a
            // damaged header once governed can never pass for current ones.
            var generation = (ulong)Random.Shared.NextInt64(1, long.MaxValue / 2);
            if (exists && replay(handle, path) is { } replayed)
            {
                generation = replayed;
            }

            if (!keep)
            {
                handle.Dispose();
                File.Delete(path);
                DirectorySync.Flush(root);
                return null;
            }

            // Empty it: generation + 1 in the header ends the scan at the first (old) entry.
            WriteHeader(handle, magic, generation + 1, name);
            if (!exists)
            {
                DirectorySync.Flush(root);
            }

            return (handle, generation + 1);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Writes the header with <paramref name="generation"/> and makes it durable.</summary>
    public static void WriteHeader(SafeFileHandle handle, uint magic, ulong generation, string name)
    {
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], generation);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Crc32C.Compute(header[..16]));
        RandomAccess.Write(handle, header, 0);
        DataSync(handle, name);
    }

    /// <summary>
    /// Frames an entry whose payload is already at <c>entry[EntryHeaderBytes..]</c>; returns the entry's whole length.
    /// </summary>
    public static int Frame(Span<byte> entry, int payloadLength, ulong generation)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(entry, EntryMagic);
        BinaryPrimitives.WriteInt32LittleEndian(entry[4..], payloadLength);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], generation);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], Crc32C.Compute(entry.Slice(EntryHeaderBytes, payloadLength)));
        return EntryHeaderBytes + payloadLength;
    }

    /// <summary>
    /// Reads the header and hands every entry of its generation, in order, to <paramref name="onPayload"/>, up to the
    /// first one that is not (torn, older, or the end). Returns the generation; null when the header is not valid (never
    /// written completely: nothing in the file was ever acknowledged).
    /// </summary>
    /// <exception cref="IOException">The header names another format version.</exception>
    public static ulong? Scan(SafeFileHandle handle, uint magic, string path, PayloadAction onPayload, out long entries)
    {
        entries = 0;
        var length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[24];
        if (length < HeaderBytes || RandomAccess.Read(handle, header, 0) < header.Length
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != magic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[16..]) != Crc32C.Compute(header[..16]))
        {
            return null;
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (version != Version)
        {
            throw new IOException($"The journal '{path}' has format version {version}; this version reads {Version}.");
        }

        var generation = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        var position = (long)HeaderBytes;
        var entryHeader = new byte[EntryHeaderBytes];
        var payload = new byte[64 * 1024];
        while (position + EntryHeaderBytes <= length && RandomAccess.Read(handle, entryHeader, position) == EntryHeaderBytes)
        {
            var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(entryHeader.AsSpan(4));
            if (BinaryPrimitives.ReadUInt32LittleEndian(entryHeader) != EntryMagic
                || BinaryPrimitives.ReadUInt64LittleEndian(entryHeader.AsSpan(8)) != generation
                || payloadLength < 0 || position + EntryHeaderBytes + payloadLength > length)
            {
                break;
            }

            if (payload.Length < payloadLength)
            {
                payload = new byte[payloadLength];
            }

            var body = payload.AsSpan(0, payloadLength);
            if (RandomAccess.Read(handle, body, position + EntryHeaderBytes) != payloadLength
                || Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(entryHeader.AsSpan(16)))
            {
                break; // torn: that round was never acknowledged, nor anything after it
            }

            onPayload(body);
            entries++;
            position += EntryHeaderBytes + payloadLength;
        }

        return generation;
    }

    /// <summary>A scanned entry's payload (valid only during the call).</summary>
    public delegate void PayloadAction(ReadOnlySpan<byte> payload);

    /// <summary>fdatasync on Linux (the file's data, and its size only when it changed), a full flush elsewhere.</summary>
    public static void DataSync(SafeFileHandle handle, string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (NativeFileCalls.FdataSync((int)handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"fdatasync of {name} failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}.");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
