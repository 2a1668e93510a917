using System.Diagnostics;

namespace KernelSharp.Runtime.Tests.Files;

/// <summary>Makes the non-regular file-system nodes the safety tests need (named pipes) with the system's own tools.</summary>
internal static class UnixNodes
{
    public static bool Available => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS();

    public static string MakeFifo(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"mkfifo {path} failed: {process.StandardError.ReadToEnd()}");
        }
        return path;
    }

    /// <summary>Reads everything written to <paramref name="fifo"/> on a worker (a writer's open blocks until a reader opens it).</summary>
    public static Task<byte[]> DrainAsync(string fifo) => Task.Run(() => File.ReadAllBytes(fifo));
}
