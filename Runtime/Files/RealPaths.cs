using System.Runtime.InteropServices;

namespace KernelSharp.Runtime;

/// <summary>
/// Canonical paths with every symbolic link resolved, in every component. Comparing path strings is not enough to tell
/// whether two paths name the same file: Hugging Face's cache is all links, so a model folder and an output path can
/// spell the same file differently.
/// </summary>
public static partial class RealPaths
{
    /// <summary>
    /// The canonical form of <paramref name="path"/>. When the path (or its last components) does not exist yet, the
    /// longest existing prefix is resolved and the rest appended, so a file about to be written gets the name it will have.
    /// </summary>
    public static string Resolve(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var missing = new Stack<string>();
        string? existing = full;
        while (existing is not null)
        {
            if (TryRealPath(existing) is string resolved)
            {
                foreach (string part in missing)
                {
                    resolved = Path.Combine(resolved, part);
                }
                return resolved;
            }

            missing.Push(Path.GetFileName(existing));
            existing = Path.GetDirectoryName(existing);
        }

        return full;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies inside it (both canonical).</summary>
    public static bool IsInside(string path, string folder)
    {
        string prefix = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        return path == Path.TrimEndingDirectorySeparator(folder) || path.StartsWith(prefix, StringComparison.Ordinal);
    }

    private static string? TryRealPath(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                return null;
            }

            FileSystemInfo? target = File.Exists(path)
                ? File.ResolveLinkTarget(path, returnFinalTarget: true)
                : Directory.ResolveLinkTarget(path, returnFinalTarget: true);
            return target?.FullName ?? Path.GetFullPath(path);
        }

        IntPtr resolved = RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
