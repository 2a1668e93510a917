using System.Globalization;

namespace KernelSharp.Runtime;

/// <summary>
/// Names of the hidden work-in-progress files and folders this tool creates next to an output
/// (<c>.NAME.partial-PID-RANDOM</c>), and the clean-up of ones whose writer died (SIGKILL, power loss).
/// </summary>
public static class PartialFiles
{
    private const string Marker = ".partial-";

    /// <summary>A fresh hidden sibling name for <paramref name="target"/>, tagged with this process's id.</summary>
    public static string NewPartialName(string target)
    {
        string folder = Path.GetDirectoryName(target) ?? ".";
        string pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        return Path.Combine(folder, $".{Path.GetFileName(target)}{Marker}{pid}-{Guid.NewGuid():N}");
    }

    /// <summary>
    /// Deletes partial siblings of <paramref name="target"/> left by writers that no longer run, and returns their
    /// names so the caller can say what it removed. Partials of a live process (another writer) are left alone.
    /// </summary>
    public static IReadOnlyList<string> RemoveStale(string target)
    {
        string? folder = Path.GetDirectoryName(target);
        if (folder is null || !Directory.Exists(folder))
        {
            return [];
        }

        var removed = new List<string>();
        string prefix = $".{Path.GetFileName(target)}{Marker}";
        foreach (string entry in Directory.EnumerateFileSystemEntries(folder, prefix + "*"))
        {
            string rest = Path.GetFileName(entry)[prefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue; // not of our naming
            }
            if (pid == Environment.ProcessId || IsRunning(pid))
            {
                continue;
            }

            try
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
                removed.Add(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Could not remove it (permissions): leave it; the next run reports it again.
            }
        }

        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
