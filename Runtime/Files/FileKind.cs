using System.Runtime.InteropServices;

namespace KernelSharp.Runtime;

/// <summary>What a path names, as the operating system sees it (after following links).</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    Pipe,
    CharacterDevice,
    BlockDevice,
    Socket,
    Other,
}

/// <summary>
/// Asks the file system what a path is before anything opens it: opening a named pipe blocks until a writer appears,
/// and a device such as <c>/dev/zero</c> never ends, so readers must refuse them first and writers must never rename
/// over them. .NET has no public API for the file type; the runtime's own native shim (System.Native, shipped with
/// every .NET install) answers through <c>SystemNative_Stat</c> (a path) and <c>SystemNative_FStat</c> (an open
/// descriptor), whose result starts with (int Flags, int Mode).
/// </summary>
public static partial class FileKinds
{
    // POSIX file-type bits, as System.Native reports them (it asserts they match the platform's).
    private const int TypeMask = 0xF000;
    private const int TypePipe = 0x1000;
    private const int TypeCharacterDevice = 0x2000;
    private const int TypeDirectory = 0x4000;
    private const int TypeBlockDevice = 0x6000;
    private const int TypeRegular = 0x8000;
    private const int TypeSocket = 0xC000;

    /// <summary>The kind of <paramref name="path"/>, following links (a dangling link is <see cref="FileKind.Missing"/>).</summary>
    public static FileKind Of(string path)
    {
        if (!HasStat)
        {
            return File.Exists(path) ? FileKind.Regular : Directory.Exists(path) ? FileKind.Directory : FileKind.Missing;
        }

        // FileStatus is ~130 bytes today; a larger buffer keeps us safe if fields are appended.
        Span<byte> status = stackalloc byte[512];
        unsafe
        {
            fixed (byte* buffer = status)
            {
                return Stat(path, buffer) == 0 ? KindOf(status) : FileKind.Missing;
            }
        }
    }

    /// <summary>
    /// The kind of what an open file descriptor of this process refers to (1 = standard output): a pipe, a terminal (a
    /// character device), a regular file. <see cref="FileKind.Other"/> where the system cannot say.
    /// </summary>
    public static FileKind OfDescriptor(int descriptor)
    {
        if (!HasStat)
        {
            return FileKind.Other;
        }

        Span<byte> status = stackalloc byte[512];
        unsafe
        {
            fixed (byte* buffer = status)
            {
                return FStat(descriptor, buffer) == 0 ? KindOf(status) : FileKind.Missing;
            }
        }
    }

    private static bool HasStat => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    private static FileKind KindOf(ReadOnlySpan<byte> status)
    {
        int mode = BitConverter.ToInt32(status.Slice(4, 4));
        return (mode & TypeMask) switch
        {
            TypeRegular => FileKind.Regular,
            TypeDirectory => FileKind.Directory,
            TypePipe => FileKind.Pipe,
            TypeCharacterDevice => FileKind.CharacterDevice,
            TypeBlockDevice => FileKind.BlockDevice,
            TypeSocket => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    /// <summary>
    /// The target a symbolic link at <paramref name="path"/> names when nothing is there (a dangling link); null when the
    /// path is not a link or its target exists. A message that said "not found" would send the user looking for the
    /// link itself, which is there.
    /// </summary>
    public static string? DanglingLinkTarget(string path)
    {
        if (Of(path) != FileKind.Missing)
        {
            return null;
        }
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>How a kind is named in an error message.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.Pipe => "a named pipe",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "not a regular file",
    };

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* output);

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_FStat")]
    private static unsafe partial int FStat(nint descriptor, byte* output);
}
