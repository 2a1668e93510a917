using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>The real DeepSeek-V3 tokenizer against the ids and decoded text Hugging Face tokenizers produced (golden.json).</summary>
public sealed class GoldenTokenizerTests
{
    public static TheoryData<int> GoldenIndices()
    {
        var data = new TheoryData<int>();
        foreach (GoldenCase golden in TokenizerFixtures.DeepSeekGoldenCases)
        {
            data.Add(golden.Index);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenIndices))]
    public void EncodeGivesTheReferenceIds(int index)
    {
        GoldenCase golden = TokenizerFixtures.DeepSeekGoldenCases[index];

        int[] ids = TokenizerFixtures.DeepSeek.Encode(golden.Text);

        Assert.Equal(golden.Ids, ids);
    }

    [Theory]
    [MemberData(nameof(GoldenIndices))]
    public void DecodeGivesTheReferenceText(int index)
    {
        GoldenCase golden = TokenizerFixtures.DeepSeekGoldenCases[index];

        string text = TokenizerFixtures.DeepSeek.Decode(golden.Ids);

        Assert.Equal(golden.Decoded, text);
    }

    [Fact]
    public void AllGoldenCasesMatchAndThereAreThreeHundred()
    {
        IReadOnlyList<GoldenCase> cases = TokenizerFixtures.DeepSeekGoldenCases;
        int passed = cases.Count(golden => TokenizerFixtures.DeepSeek.Encode(golden.Text).SequenceEqual(golden.Ids));

        Assert.Equal(300, cases.Count);
        Assert.Equal(cases.Count, passed);
    }

    [Fact]
    public void EncodeWithSpecialTokensPrependsBosFromTheConfig()
    {
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;

        int[] ids = tokenizer.Encode("Hello, world!", addSpecialTokens: true);

        Assert.Equal(0, tokenizer.BosTokenId);
        Assert.Equal(1, tokenizer.EosTokenId);
        Assert.Equal([0, .. tokenizer.Encode("Hello, world!")], ids);
    }

    [Fact]
    public void VocabularySizeCoversTheAddedTokens()
    {
        Assert.Equal(128815, TokenizerFixtures.DeepSeek.VocabSize);
        Assert.Equal(128803, TokenizerFixtures.DeepSeek.TokenToId("<｜User｜>"));
    }
}
