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

        var fd = Open(directory);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}.");
        }

        try
        {
            if (Sync(fd) != 0)
            {
                throw new IOException($"Cannot flush directory '{directory}': {new Win32Exception(Marshal.GetLastPInvokeError()).Message}.");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    // glibc systems may lack the unversioned "libc.so" (it ships with the dev package), so try the soname first.
    private static int Open(string path)
    {
        try
        {
            return Glibc.open(path, 0 /* O_RDONLY */);
        }
        catch (DllNotFoundException)
        {
            return Libc.open(path, 0);
        }
    }

    private static int Sync(int fd)
    {
        try
        {
            return Glibc.fsync(fd);
        }
        catch (DllNotFoundException)
        {
            return Libc.fsync(fd);
        }
    }

    private static int Close(int fd)
    {
        try
        {
            return Glibc.close(fd);
        }
        catch (DllNotFoundException)
        {
            return Libc.close(fd);
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs AllowUnsafeBlocks; these three calls are blittable apart from the UTF-8 path.
    private static class Glibc
    {
        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int close(int fd);
    }

    private static class Libc
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
#pragma warning restore SYSLIB1054
}
