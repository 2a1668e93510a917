using System.Diagnostics;
using KernelSharp.Runtime.Tokenization;
using KernelSharp.Runtime.Tokenization.Patterns;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>
/// The pattern engine's step budget is one per scan and linear in the input: a hostile tokenizer.json whose pattern is
/// cheap per attempt but fails at every start position (quadratic work) stops with an error in about linear time,
/// while real tokenizer patterns on long text stay far inside the budget.
/// </summary>
public sealed class PatternBudgetTests
{
    [Fact]
    public void A_pattern_that_fails_at_every_position_stops_in_linear_time()
    {
        // `a*b` over 200 000 'a's: each start position scans to the end and fails, n²/2 = 2·10¹⁰ steps in all.
        CodePointPattern hostile = CodePointPattern.Compile("a*b");
        int[] text = Enumerable.Repeat((int)'a', 200_000).ToArray();
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<TokenizerException>(() => hostile.FindMatches(text, []));
        Assert.Contains("backtracks pathologically", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void A_real_pre_tokenizer_pattern_on_long_text_stays_inside_the_budget()
    {
        // GPT-2 style split pattern (the shape of DeepSeek's), on 100 000 characters of mixed text.
        CodePointPattern split = CodePointPattern.Compile(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");
        string sample = "Hello, world! 12345 tokens   and\nnew lines; émigré 東京 ";
        int[] text = string.Concat(Enumerable.Repeat(sample, 100_000 / sample.Length)).Select(c => (int)c).ToArray();
        var matches = new List<(int Start, int End)>();
        split.FindMatches(text, matches);
        Assert.Equal(text.Length, matches.Sum(m => m.End - m.Start));
    }
}
