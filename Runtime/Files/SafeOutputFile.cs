using System.Globalization;

namespace KernelSharp.Runtime;

/// <summary>
/// Writes one output file without ever destroying something the user owns:
/// <list type="bullet">
/// <item>the output is resolved through every link before deciding, and refused when it lands on or in an input;</item>
/// <item>a regular file (or a new name) is written to a hidden sibling and renamed into place when complete, so a
/// failure or interruption leaves the old file as it was; a link given as the output keeps being a link (its target
/// is replaced, as a shell's <c>&gt;</c> would);</item>
/// <item>a pipe or a character device (<c>/dev/null</c>, <c>/dev/stdout</c>, a FIFO) is written into directly: renaming
/// over it would replace the system's node with a regular file;</item>
/// <item>folders, block devices and sockets are refused.</item>
/// </list>
/// </summary>
public static class SafeOutputFile
{
    /// <summary>
    /// Throws the error <see cref="Write"/> would give for where <paramref name="path"/> lands, without writing:
    /// a command calls it before its long work so a bad output path fails in a second, not after the model ran.
    /// </summary>
    public static void Check(string path, string optionName, ProtectedInputs inputs) => Resolve(path, optionName, inputs);

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; <paramref name="optionName"/> names the flag in errors.</summary>
    public static void Write(string path, string optionName, ProtectedInputs inputs, Action<Stream> write, CancellationToken cancellation = default)
    {
        (string canonical, FileKind kind) = Resolve(path, optionName, inputs);
        if (kind is FileKind.Pipe or FileKind.CharacterDevice)
        {
            WriteInPlace(canonical, path, optionName, write);
        }
        else
        {
            WriteByRename(canonical, path, optionName, write, cancellation);
        }
    }

    private static (string Canonical, FileKind Kind) Resolve(string path, string optionName, ProtectedInputs inputs)
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

    private static void WriteInPlace(string canonical, string path, string optionName, Action<Stream> write)
    {
        try
        {
            // FileMode.Open: never create or truncate a node; a FIFO blocks here until a reader opens it, as with `>`.
            using var stream = new FileStream(canonical, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1 << 16);
            write(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{optionName} {path}: cannot write to it ({e.Message})", e);
        }
    }
}
