using System.Globalization;

namespace KernelSharp.Runtime;

/// <summary>
/// Writes one output file without ever destroying something the user owns:
/// <list type="bullet">
/// <item>the output is resolved through every link before deciding, and refused when it lands on or in an input;</item>
/// <item>an existing regular file (reached directly or through links) is replaced only when the caller says so
/// (<c>replaceExisting</c>, a command's <c>--force</c>): an output name that happens to be a user's file is refused;</item>
/// <item>a regular file (or a new name) is written to a hidden sibling and renamed into place when complete, so a
/// failure or interruption leaves the old file as it was; a link given as the output keeps being a link (its target
/// is replaced);</item>
/// <item>a pipe or a character device (<c>/dev/null</c>, <c>/dev/stdout</c>, a FIFO) is written into directly: renaming
/// over it would replace the system's node with a regular file; opening a FIFO nobody reads waits, and cancellation
/// (Ctrl-C) ends that wait;</item>
/// <item>folders, block devices and sockets are refused.</item>
/// </list>
/// </summary>
public static class SafeOutputFile
{
    /// <summary>
    /// Throws the error <see cref="Write"/> would give for where <paramref name="path"/> lands, without writing:
    /// a command calls it before its long work so a bad output path fails in a second, not after the model ran.
    /// </summary>
    public static void Check(string path, string optionName, ProtectedInputs inputs, bool replaceExisting = false) => Resolve(path, optionName, inputs, replaceExisting);

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; <paramref name="optionName"/> names the flag in errors.</summary>
    /// <param name="replaceExisting">Whether an existing regular file may be replaced (the command's --force); refused otherwise.</param>
    public static void Write(string path, string optionName, ProtectedInputs inputs, Action<Stream> write, CancellationToken cancellation = default, bool replaceExisting = false)
    {
        (string canonical, FileKind kind) = Resolve(path, optionName, inputs, replaceExisting);
        if (kind is FileKind.Pipe or FileKind.CharacterDevice)
        {
            WriteInPlace(canonical, path, optionName, write, cancellation);
        }
        else
        {
            WriteByRename(canonical, path, optionName, write, cancellation);
        }
    }

    private static (string Canonical, FileKind Kind) Resolve(string path, string optionName, ProtectedInputs inputs, bool replaceExisting)
    {
        if (path.Length == 0)
        {
            throw new UserInputException($"{optionName}: empty path; expected a file name");
        }
        if (Path.EndsInDirectorySeparator(path))
        {
            throw new UserInputException($"{optionName} {path}: ends with a separator; expected a file name, not a folder");
        }

        string canonical = RealPaths.Resolve(path);
        if (inputs.Conflict(canonical) is string input)
        {
            throw new OutputOverlapsInputException(path, canonical, input);
        }

        string? folder = Path.GetDirectoryName(canonical);
        if (folder is null || !Directory.Exists(folder))
        {
            throw new UserInputException($"{path}: the folder {folder ?? path} does not exist");
        }

        FileKind kind = FileKinds.Of(canonical);
        if (kind == FileKind.Regular && !replaceExisting)
        {
            string through = canonical == Path.GetFullPath(path) ? string.Empty : $" (through a link, {canonical})";
            throw new UserInputException($"{optionName} {path}: a file exists there{through}; choose a new name or pass --force to replace it");
        }

        return kind is FileKind.Missing or FileKind.Regular or FileKind.Pipe or FileKind.CharacterDevice
            ? (canonical, kind)
            : throw new UserInputException($"{optionName} {path}: is {FileKinds.Describe(kind)}; expected a file name to write");
    }

    private static void WriteByRename(string canonical, string path, string optionName, Action<Stream> write, CancellationToken cancellation)
    {
        PartialFiles.RemoveStale(canonical); // a killed earlier run's hidden leftover of this same output
        string temporary = PartialFiles.NewPartialName(canonical);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            cancellation.ThrowIfCancellationRequested();
            // The target may have changed kind while we wrote (a FIFO made in its place): never rename over such a node.
            FileKind now = FileKinds.Of(canonical);
            if (now is not (FileKind.Missing or FileKind.Regular))
            {
                throw new UserInputException($"{optionName} {path}: became {FileKinds.Describe(now)} while the output was written; not replacing it");
            }

            File.Move(temporary, canonical, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{optionName} {path}: cannot write the file ({e.Message})", e);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private static void WriteInPlace(string canonical, string path, string optionName, Action<Stream> write, CancellationToken cancellation)
    {
        try
        {
            // FileMode.Open: never create or truncate a node. A FIFO's open blocks until a reader opens it, as with `>`:
            // it runs on a pool thread so that cancellation (Ctrl-C) ends the wait.
            using var stream = Interruptible.Wait(
                () => new FileStream(canonical, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1 << 16), cancellation);
            write(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{optionName} {path}: cannot write to it ({e.Message})", e);
        }
    }
}
