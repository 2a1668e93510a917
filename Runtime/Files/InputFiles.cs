using System.Globalization;
using System.Text;

namespace KernelSharp.Runtime;

/// <summary>
/// Reads a user's input files and streams with limits fitted to what each kind of input can sanely be. A named pipe
/// or a device given as <c>config.json</c> would block in <c>open</c> or never end, and an endless stream read whole
/// grows until the machine runs out of memory; both become one clear error naming the file, what it is, and the limit.
/// </summary>
public static class InputFiles
{
    /// <summary>config.json, tokenizer_config.json, generation configs: a few KB in every real checkpoint.</summary>
    public const long ConfigLimit = 16L << 20;

    /// <summary>tokenizer.json: DeepSeek-V3's is 7.8 MB; the largest on the Hub are a few tens of MB.</summary>
    public const long TokenizerLimit = 512L << 20;

    /// <summary>model.safetensors.index.json: about 10 MB for DeepSeek-V3.2's 100 000 tensors.</summary>
    public const long ShardIndexLimit = 256L << 20;

    /// <summary>A prompt (file or stdin): far beyond any context window (128K tokens ≈ 0.5 MB of text).</summary>
    public const long PromptLimit = 64L << 20;

    /// <summary>
    /// Throws <paramref name="fail"/>'s exception unless <paramref name="path"/> is a regular file (links followed).
    /// Call before opening: opening a named pipe blocks until a writer appears.
    /// </summary>
    public static void RequireRegular(string path, string whatItIs, Func<string, Exception> fail)
    {
        FileKind kind = FileKinds.Of(path);
        switch (kind)
        {
            case FileKind.Regular:
                return;
            case FileKind.Missing:
                throw fail(NotFound(path, whatItIs));
            case FileKind.Directory:
                throw fail($"{path}: is a folder; expected the {whatItIs} itself");
            default:
                throw fail($"{path}: is {FileKinds.Describe(kind)}; the {whatItIs} must be a regular file");
        }
    }

    /// <summary>
    /// Throws <paramref name="fail"/>'s exception unless <paramref name="path"/> is a folder (links followed), saying what is
    /// there instead (a file, a named pipe, a dangling link) followed by <paramref name="expectation"/>.
    /// </summary>
    public static void RequireFolder(string path, string whatItIs, string expectation, Func<string, Exception> fail)
    {
        FileKind kind = FileKinds.Of(path);
        switch (kind)
        {
            case FileKind.Directory:
                return;
            case FileKind.Missing:
                throw fail(NotFound(path, whatItIs));
            default:
                throw fail($"{path}: is {FileKinds.Describe(kind)}; {expectation}");
        }
    }

    /// <summary>"PATH: the WHAT not found", or, when PATH is a link to nothing, what it links to.</summary>
    public static string NotFound(string path, string whatItIs)
        => FileKinds.DanglingLinkTarget(path) is string target ? $"{path}: {Dangling(target)}; expected the {whatItIs}" : $"{path}: {whatItIs} not found";

    /// <summary>
    /// Why nothing can be read at <paramref name="path"/>, for "PATH: ...; what to do" messages: <paramref name="whenMissing"/>,
    /// or "is a dangling link to TARGET, which does not exist".
    /// </summary>
    public static string Absent(string path, string whenMissing = "missing")
        => FileKinds.DanglingLinkTarget(path) is string target ? Dangling(target) : whenMissing;

    private static string Dangling(string target) => $"is a dangling link to {target}, which does not exist";

    /// <summary>The whole of a regular file no larger than <paramref name="limit"/> bytes.</summary>
    public static byte[] ReadAllBytes(string path, string whatItIs, long limit, Func<string, Exception> fail)
    {
        RequireRegular(path, whatItIs, fail);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
            long length = stream.Length;
            if (length > limit)
            {
                throw fail($"{path}: the {whatItIs} is {Sizes(length)}; expected at most {Sizes(limit)} — is this the right file?");
            }

            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw fail($"{path}: {whatItIs} not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw fail($"{path}: cannot read the {whatItIs} ({e.Message})");
        }
    }

    /// <summary>A regular UTF-8 text file no larger than <paramref name="limit"/> bytes.</summary>
    public static string ReadAllText(string path, string whatItIs, long limit, Func<string, Exception> fail)
    {
        byte[] bytes = ReadAllBytes(path, whatItIs, limit, fail);
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetString(bytes).TrimStart('\uFEFF');
    }

    /// <summary>
    /// Reads a stream (stdin) to its end, refusing it once it passes <paramref name="limitChars"/> characters — so
    /// <c>&lt; /dev/zero</c> ends with a clear error instead of exhausting memory.
    /// </summary>
    public static string ReadToEnd(TextReader reader, string whatItIs, long limitChars, Func<string, Exception> fail)
    {
        var text = new StringBuilder();
        char[] buffer = new char[64 * 1024];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (text.Length + (long)read > limitChars)
            {
                throw fail($"{whatItIs} is longer than {limitChars:N0} characters, the most accepted (is it an endless stream?)");
            }
            text.Append(buffer, 0, read);
        }

        return text.ToString();
    }

    /// <summary>
    /// One line of at most <paramref name="limitChars"/> characters, or null at the end; a longer line is refused
    /// without being held in memory whole.
    /// </summary>
    public static string? ReadLine(TextReader reader, string whatItIs, long limitChars, Func<string, Exception> fail)
    {
        var line = new StringBuilder();
        while (true)
        {
            int next = reader.Read();
            if (next < 0)
            {
                return line.Length == 0 ? null : line.ToString();
            }
            if (next == '\n')
            {
                return line.Length > 0 && line[^1] == '\r' ? line.ToString(0, line.Length - 1) : line.ToString();
            }
            if (line.Length >= limitChars)
            {
                throw fail($"{whatItIs} has a line longer than {limitChars:N0} characters, the most accepted for one line");
            }
            line.Append((char)next);
        }
    }

    private static string Sizes(long bytes) => bytes >= 1L << 20
        ? (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
}
