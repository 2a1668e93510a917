using System.Text;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Text inputs named on the command line (a prompt file, a JSONL file). Unlike a model's files these may be pipes
/// (<c>-f &lt;(cmd)</c>) or devices, so their kind is not refused; what keeps an endless one from exhausting memory is
/// that every read is bounded (<see cref="InputFiles"/>). A folder, socket or missing file is one clear error.
/// </summary>
public static class BoundedText
{
    /// <summary>The whole text of <paramref name="path"/>, refused past <paramref name="limitChars"/> characters.</summary>
    public static string ReadFile(string path, string whatItIs, long limitChars)
    {
        using StreamReader reader = OpenStream(path, whatItIs);
        return InputFiles.ReadToEnd(reader, $"{path}: the {whatItIs}", limitChars, message => new UserInputException(message));
    }

    /// <summary>A UTF-8 reader over <paramref name="path"/>, after checking it is something text can be read from.</summary>
    public static StreamReader OpenStream(string path, string whatItIs)
    {
        FileKind kind = FileKinds.Of(path);
        if (kind == FileKind.Missing)
        {
            throw new UserInputException(InputFiles.NotFound(path, whatItIs));
        }
        if (kind is not (FileKind.Regular or FileKind.Pipe or FileKind.CharacterDevice))
        {
            throw new UserInputException($"{path}: is {FileKinds.Describe(kind)}; expected the {whatItIs}");
        }

        try
        {
            return new StreamReader(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{path}: cannot read the {whatItIs} ({e.Message})", e);
        }
    }
}
