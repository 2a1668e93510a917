using System.Text.Json;
using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>
/// The tiny fixtures' 512-token tokenizer (GPT-2 style ByteLevel pre-tokenizer with its regex, a TemplateProcessing
/// post-processor adding BOS, merges written as pairs) against their tokenizer_golden.json from Hugging Face.
/// </summary>
public sealed class TinyTokenizerTests
{
    public static TheoryData<string, int> GoldenCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string fixture in new[] { "tiny-dsa-bf16", "tiny-dsa-fp8-yarn" })
        {
            int count = ReadGolden(fixture).Count;
            for (int i = 0; i < count; i++)
            {
                data.Add(fixture, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void EncodeWithSpecialTokensGivesTheReferenceIds(string fixture, int index)
    {
        BpeTokenizer tokenizer = BpeTokenizer.Load(Path.Combine(TokenizerFixtures.FixturesDirectory, fixture, "tokenizer.json"));
        (string text, int[] expected) = ReadGolden(fixture)[index];

        int[] ids = tokenizer.Encode(text, addSpecialTokens: true);

        Assert.Equal(expected, ids);
        Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void BosAndEosComeFromTheConfig()
    {
        BpeTokenizer tokenizer = BpeTokenizer.Load(TokenizerFixtures.TinyTokenizerJson);

        Assert.Equal(0, tokenizer.BosTokenId);
        Assert.Equal(1, tokenizer.EosTokenId);
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.True(tokenizer.IsSpecialToken(0));
    }

    [Fact]
    public void WithoutAConfigTheTemplateStillAddsBos()
    {
        string directory = Directory.CreateTempSubdirectory("ks-tokenizer-").FullName;
        try
        {
            string path = Path.Combine(directory, "tokenizer.json");
            File.Copy(TokenizerFixtures.TinyTokenizerJson, path);

            BpeTokenizer tokenizer = BpeTokenizer.Load(path);

            Assert.Equal(0, tokenizer.BosTokenId);
            Assert.Null(tokenizer.EosTokenId);
            Assert.Equal(0, tokenizer.Encode("x", addSpecialTokens: true)[0]);
            Assert.NotEqual(0, tokenizer.Encode("x")[0]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static List<(string Text, int[] Ids)> ReadGolden(string fixture)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TokenizerFixtures.FixturesDirectory, fixture, "tokenizer_golden.json")));
        return document.RootElement.GetProperty("encode").EnumerateArray()
            .Select(item => (item.GetProperty("text").GetString()!, item.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray()))
            .ToList();
    }
}
