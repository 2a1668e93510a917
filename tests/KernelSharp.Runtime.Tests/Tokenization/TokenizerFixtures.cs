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

    // The build may put the test assembly outside the repository (KS_ARTIFACTS), so start from this source file's path too.
    private static string FindFixtures([CallerFilePath] string sourceFile = "")
    {
        string?[] starts = [Path.GetDirectoryName(sourceFile), AppContext.BaseDirectory, Directory.GetCurrentDirectory()];
        foreach (string? start in starts)
        {
            for (DirectoryInfo? directory = start is null ? null : new(start); directory is not null; directory = directory.Parent)
            {
                string candidate = Path.Combine(directory.FullName, "tests", "fixtures");
                if (File.Exists(Path.Combine(candidate, "deepseek-v3-tokenizer", "tokenizer.json")))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>One golden.json case; <see cref="Index"/> names it in test output.</summary>
internal sealed record GoldenCase(int Index, string Text, int[] Ids, string Decoded);
