using System.Runtime.InteropServices;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The few libc file calls .NET has no API for (a directory's fsync, fdatasync). glibc systems may lack the unversioned
/// "libc.so" (it ships with the dev package), so each call tries the soname first. Unix only; each returns -1 and sets
/// the last P/Invoke error on failure.
/// </summary>
internal static class NativeFileCalls
{
    public static int Open(string path, int flags)
    {
        try
        {
            return Glibc.open(path, flags);
        }
        catch (DllNotFoundException)
        {
            return Libc.open(path, flags);
        }
    }

    public static int Fsync(int fd)
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

    public static int FdataSync(int fd)
    {
        try
        {
            return Glibc.fdatasync(fd);
        }
        catch (DllNotFoundException)
        {
            return Libc.fdatasync(fd);
        }
    }

    public static int Close(int fd)
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

#pragma warning disable SYSLIB1054 // LibraryImport needs AllowUnsafeBlocks; these calls are blittable apart from the UTF-8 path.
    private static class Glibc
    {
        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int fdatasync(int fd);

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
        public static extern int fdatasync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
#pragma warning restore SYSLIB1054
}
