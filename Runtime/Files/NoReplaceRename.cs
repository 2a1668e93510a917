using System.Runtime.InteropServices;

namespace KernelSharp.Runtime;

/// <summary>
/// Publishes a finished file or folder under its final name only if that name is still free, in one step.
/// A check followed by a rename leaves a window in which another writer (a second <c>create-model</c>, a user's
/// <c>mkdir</c>) can create the target, whose contents a plain rename would then replace; Linux's
/// <c>renameat2(RENAME_NOREPLACE)</c> closes it. Where the call or the file system lacks it, the check-then-move
/// fallback of .NET (which refuses an existing destination) is used.
/// </summary>
public static partial class NoReplaceRename
{
    private const int CurrentDirectory = -100;   // AT_FDCWD
    private const uint RenameNoReplace = 1;      // RENAME_NOREPLACE
    private const int AlreadyExists = 17;        // EEXIST
    private const int NotEmpty = 39;             // ENOTEMPTY

    /// <summary>Renames <paramref name="source"/> to <paramref name="destination"/>; false when the destination exists.</summary>
    public static bool TryMove(string source, string destination)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                if (RenameAt2(CurrentDirectory, source, CurrentDirectory, destination, RenameNoReplace) == 0)
                {
                    return true;
                }

                int error = Marshal.GetLastPInvokeError();
                if (error is AlreadyExists or NotEmpty)
                {
                    return false;
                }
            }
            catch (EntryPointNotFoundException)
            {
                // A C library older than glibc 2.28 has no renameat2 wrapper.
            }

            // ENOSYS / EINVAL: no renameat2 here (old kernel, some network file systems); fall through.
        }

        if (File.Exists(destination) || Directory.Exists(destination) || FileKinds.Of(destination) != FileKind.Missing)
        {
            return false;
        }

        try
        {
            if (Directory.Exists(source))
            {
                Directory.Move(source, destination);
            }
            else
            {
                File.Move(source, destination, overwrite: false);
            }
            return true;
        }
        catch (IOException) when (File.Exists(destination) || Directory.Exists(destination))
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);
}
