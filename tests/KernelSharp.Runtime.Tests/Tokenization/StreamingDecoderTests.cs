using System.Text;
using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    [Fact]
    public void AnEmojiSplitOverTwoTokensComesOutWhole()
    {
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;
        int[] ids = tokenizer.Encode("a😀b");
        Assert.Equal([67, 28927, 225, 68], ids); // the emoji's four bytes span two tokens

        StreamingDecoder decoder = tokenizer.CreateStreamingDecoder();

        Assert.Equal("a", decoder.Push(ids[0]));
        Assert.Equal(string.Empty, decoder.Push(ids[1]));
        Assert.Equal("😀", decoder.Push(ids[2]));
        Assert.Equal("b", decoder.Push(ids[3]));
        Assert.Equal(string.Empty, decoder.Flush());
    }

    [Fact]
    public void EveryGoldenTextStreamsInCompleteCharactersAndJoinsToTheFullDecode()
    {
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;
        foreach (GoldenCase golden in TokenizerFixtures.DeepSeekGoldenCases)
        {
            StreamingDecoder decoder = tokenizer.CreateStreamingDecoder();
            var streamed = new StringBuilder();
            foreach (int id in golden.Ids)
            {
                string piece = decoder.Push(id);
                Assert.DoesNotContain('\uFFFD', piece);
                Assert.False(piece.Length > 0 && char.IsHighSurrogate(piece[^1]), $"case {golden.Index}: a lone high surrogate was returned");
                streamed.Append(piece);
            }

            streamed.Append(decoder.Flush());
            Assert.Equal(golden.Decoded, streamed.ToString());
        }
    }

    [Fact]
    public void RandomByteTokensStreamExactlyLikeTheWholeDecode()
    {
        // Single-byte tokens in random order: invalid, truncated and valid UTF-8 mixed. Whatever the bytes, the
        // streamed text must equal the one-shot decode (which replaces invalid sequences with U+FFFD).
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;
        int[] byteTokenIds = Enumerable.Range(0, 256)
            .Select(b => tokenizer.TokenToId(ByteToken((byte)b))!.Value)
            .ToArray();
        var random = new Random(1234);
        byte[] interesting = [0x41, 0x80, 0xBF, 0xC2, 0xDF, 0xE0, 0xA0, 0xED, 0x9F, 0xF0, 0x90, 0xF4, 0x8F, 0xF5, 0xFF, 0xC0];
        for (int trial = 0; trial < 2000; trial++)
        {
            int[] ids = Enumerable.Range(0, random.Next(1, 12))
                .Select(_ => byteTokenIds[random.Next(2) == 0 ? interesting[random.Next(interesting.Length)] : random.Next(256)])
                .ToArray();
            StreamingDecoder decoder = tokenizer.CreateStreamingDecoder();
            var streamed = new StringBuilder();
            foreach (int id in ids)
            {
                streamed.Append(decoder.Push(id));
            }

            streamed.Append(decoder.Flush());
            Assert.Equal(tokenizer.Decode(ids), streamed.ToString());
        }
    }

    [Fact]
    public void SkippingSpecialTokensLeavesOutBosAndEosButKeepsChatMarkers()
    {
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;
        int[] ids = tokenizer.Encode("<｜begin▁of▁sentence｜><｜User｜>hi<｜end▁of▁sentence｜>");
        StreamingDecoder decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);

        string text = string.Concat(ids.Select(decoder.Push)) + decoder.Flush();

        Assert.Equal("<｜User｜>hi", text); // <｜User｜> is an added token but not marked special
        Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    // The vocabulary token for one byte, written in GPT-2's byte alphabet.
    private static string ByteToken(byte b)
    {
        bool printable = b is >= (byte)'!' and <= (byte)'~' or >= 0xA1 and <= 0xAC or >= 0xAE;
        if (printable)
        {
            return ((char)b).ToString();
        }

        int offset = Enumerable.Range(0, b).Count(x => !(x is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE));
        return ((char)(256 + offset)).ToString();
    }
}
