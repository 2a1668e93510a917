using System.Text.Json;
using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>
/// Goldens made with the reference library (Hugging Face tokenizers 0.23.2, the version of golden.json, through its
/// Node binding) beside this file in Data/:
/// <list type="bullet">
/// <item>deepseek-random.golden.json: 1000 random strings for the real tokenizer built from every Unicode block that
/// trips tokenizers (controls, combining marks, CJK and its extensions, emoji, math letters, tags, private use,
/// unusual digits and whitespace), fragments of golden.json and whole or broken special tokens;</item>
/// <item>added-token-flags.golden.json: 400 strings for the tiny tokenizer with extra added tokens using lstrip, rstrip,
/// single_word, normalized and a content that is already in the vocabulary (tokenizers renumbers added tokens).</item>
/// </list>
/// </summary>
public sealed class ReferenceLibraryTests
{
    [Fact]
    public void RandomHardStringsMatchTheReferenceLibrary()
    {
        AssertMatchesGolden(TokenizerFixtures.DeepSeek, ReadCases("deepseek-random.golden.json"), expectedCount: 1000);
    }

    [Fact]
    public void AddedTokenFlagsMatchTheReferenceLibrary()
    {
        BpeTokenizer tokenizer = BpeTokenizer.Load(DataFile("added-token-flags.tokenizer.json"));

        AssertMatchesGolden(tokenizer, ReadCases("added-token-flags.golden.json"), expectedCount: 400);
    }

    [Fact]
    public void AddedTokensAreRenumberedLikeTheReferenceLibrary()
    {
        BpeTokenizer tokenizer = BpeTokenizer.Load(DataFile("added-token-flags.tokenizer.json"));

        Assert.Equal(405, tokenizer.TokenToId("ab"));  // written as 518, but "ab" is already in the vocabulary
        Assert.Equal(518, tokenizer.TokenToId("b<R")); // written as 519, takes the next free id
        Assert.Equal(519, tokenizer.VocabSize);
    }

    private static void AssertMatchesGolden(BpeTokenizer tokenizer, List<GoldenCase> cases, int expectedCount)
    {
        var failures = new List<string>();
        foreach (GoldenCase golden in cases)
        {
            int[] ids = tokenizer.Encode(golden.Text);
            if (!ids.SequenceEqual(golden.Ids))
            {
                failures.Add($"case {golden.Index} {JsonSerializer.Serialize(golden.Text)}: expected [{string.Join(",", golden.Ids)}], got [{string.Join(",", ids)}]");
            }

            string decoded = tokenizer.Decode(golden.Ids);
            if (decoded != golden.Decoded)
            {
                failures.Add($"case {golden.Index}: decoded {JsonSerializer.Serialize(decoded)}, expected {JsonSerializer.Serialize(golden.Decoded)}");
            }
        }

        Assert.Equal(expectedCount, cases.Count);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }

    private static List<GoldenCase> ReadCases(string name)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(DataFile(name)));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Select((item, index) => new GoldenCase(
                index,
                item.GetProperty("text").GetString()!,
                item.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray(),
                item.GetProperty("decoded").GetString()!))
            .ToList();
    }

    private static string DataFile(string name) => TokenizerFixtures.DataFile(name);
}
