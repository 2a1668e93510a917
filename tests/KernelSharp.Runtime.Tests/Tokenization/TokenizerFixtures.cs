using System.Runtime.CompilerServices;
using System.Text.Json;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>Paths of the tokenizer fixtures in tests/fixtures and the real DeepSeek-V3 tokenizer, loaded once.</summary>
internal static class TokenizerFixtures
{
    private static readonly Lazy<BpeTokenizer> DeepSeekTokenizer = new(() => BpeTokenizer.Load(DeepSeekTokenizerJson));

    public static string FixturesDirectory { get; } = FindFixtures();

    public static string DeepSeekDirectory => Path.Combine(FixturesDirectory, "deepseek-v3-tokenizer");

    public static string DeepSeekTokenizerJson => Path.Combine(DeepSeekDirectory, "tokenizer.json");

    public static string TinyDirectory => Path.Combine(FixturesDirectory, "tiny-dsa-bf16");

    public static string TinyTokenizerJson => Path.Combine(TinyDirectory, "tokenizer.json");

    /// <summary>The real DeepSeek-V3 tokenizer (128K tokens), shared by the tests that only read it.</summary>
    public static BpeTokenizer DeepSeek => DeepSeekTokenizer.Value;

    /// <summary>golden.json: texts with the ids and decoded text from Hugging Face tokenizers.</summary>
    public static IReadOnlyList<GoldenCase> DeepSeekGoldenCases { get; } = ReadGolden();

    private static IReadOnlyList<GoldenCase> ReadGolden()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DeepSeekDirectory, "golden.json")));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Select((item, index) => new GoldenCase(
                index,
                item.GetProperty("text").GetString()!,
                item.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray(),
                item.GetProperty("decoded").GetString()!))
            .ToList();
    }

    /// <summary>A file of Data/ beside these tests (goldens made with the reference library).</summary>
    public static string DataFile(string name) => Path.Combine(DataDirectory, name);

    private static string DataDirectory { get; } = FindInRepository(Path.Combine("tests", "KernelSharp.Runtime.Tests", "Tokenization", "Data"), "deepseek-random.golden.json");

    private static string FindFixtures() => FindInRepository(Path.Combine("tests", "fixtures"), Path.Combine("deepseek-v3-tokenizer", "tokenizer.json"));

    // The build may put the test assembly outside the repository (KS_ARTIFACTS) and may map source paths (CI builds),
    // so look above this source file's path, the test assembly and the working directory.
    private static string FindInRepository(string relativeDirectory, string markerFile, [CallerFilePath] string sourceFile = "")
    {
        string?[] starts = [Path.GetDirectoryName(sourceFile), AppContext.BaseDirectory, Directory.GetCurrentDirectory()];
        foreach (string? start in starts)
        {
            for (DirectoryInfo? directory = string.IsNullOrEmpty(start) ? null : new(start); directory is not null; directory = directory.Parent)
            {
                string candidate = Path.Combine(directory.FullName, relativeDirectory);
                if (File.Exists(Path.Combine(candidate, markerFile)))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException(relativeDirectory + " not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>One golden.json case; <see cref="Index"/> names it in test output.</summary>
internal sealed record GoldenCase(int Index, string Text, int[] Ids, string Decoded);
