using System.ComponentModel;
using System.Runtime.InteropServices;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Makes directory entries durable: after creating, renaming or deleting a file, its directory must be fsync'd too, or
/// a power loss can lose the file even though the file itself was flushed. .NET has no API for this, so on Unix it calls
/// open(2) + fsync(2); on Windows NTFS journals metadata and there is no directory handle to flush, so it does nothing.
/// </summary>
internal static class DirectorySync
{
    /// <summary>Flushes the entries of <paramref name="directory"/> to disk.</summary>
    /// <exception cref="IOException">The directory cannot be opened or flushed.</exception>
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = NativeFileCalls.Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}.");
        }

        try
        {
            if (NativeFileCalls.Fsync(fd) != 0)
            {
                throw new IOException($"Cannot flush directory '{directory}': {new Win32Exception(Marshal.GetLastPInvokeError()).Message}.");
            }
        }
        finally
        {
            _ = NativeFileCalls.Close(fd);
        }
    }
}
