using KernelSharp.Runtime.Generation;
using Xunit;

namespace KernelSharp.Runtime.Tests.Generation;

public sealed class MinPAndRepeatPenaltyTests
{
    public static TheoryData<float, int, float, float> Settings => new()
    {
        { 1.0f, 0, 1.0f, 0.05f },  // min-p alone over the whole vocabulary
        { 0.7f, 0, 1.0f, 0.3f },
        { 1.0f, 10, 1.0f, 0.1f },  // with top-k
        { 1.0f, 0, 0.9f, 0.02f },  // with top-p
        { 1.5f, 40, 0.95f, 0.5f },
        { 1.0f, 0, 1.0f, 1.0f },   // only the most likely token (and its ties) survive
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Min_p_matches_the_reference_on_random_logits(float temperature, int topK, float topP, float minP)
    {
        var random = new Random(99 + topK);
        var options = new SamplingOptions(temperature, topK, topP) { MinP = minP };
        for (int trial = 0; trial < 20; trial++)
        {
            float[] logits = Enumerable.Range(0, 80 + trial * 5).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
            double[] fast = TokenSampler.Probabilities(logits, options);
            double[] reference = TokenSamplerReference.Probabilities(logits, options);
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.True(Math.Abs(fast[i] - reference[i]) < 1e-9, $"token {i}: fast {fast[i]} reference {reference[i]}");
            }
        }
    }

    [Fact]
    public void Min_p_drops_exactly_the_tokens_below_the_fraction_of_the_largest()
    {
        // Probabilities ∝ e^logit: 1, e^-1 ≈ 0.37, e^-2 ≈ 0.14, e^-3 ≈ 0.05 of the largest.
        float[] logits = [0f, -1f, -2f, -3f];
        double[] p = TokenSampler.Probabilities(logits, new SamplingOptions(1f, 0, 1f) { MinP = 0.1f });
        Assert.True(p[0] > 0 && p[1] > 0 && p[2] > 0);
        Assert.Equal(0, p[3]);
        Assert.Equal(1, p.Sum(), 12);
    }

    [Fact]
    public void Repeat_penalty_divides_positive_and_multiplies_negative_logits_of_recent_distinct_tokens()
    {
        float[] logits = [2f, -2f, 4f, 1f, 3f];
        float[] penalized = RepeatPenalty.Apply(logits, history: [3, 0, 1, 0, 1], penalty: 2f, lastN: 4);
        // The window is the last 4 tokens: 0, 1, 0, 1. Token 3 is older; each token is penalized once.
        Assert.Equal([1f, -4f, 4f, 1f, 3f], penalized);
        Assert.Equal([2f, -2f, 4f, 1f, 3f], logits); // the caller's logits are untouched
        Assert.Same(logits, RepeatPenalty.Apply(logits, [0, 1], penalty: 1f, lastN: 64));
    }

    [Fact]
    public void Greedy_generation_with_a_repeat_penalty_avoids_the_token_it_would_repeat()
    {
        // Every step the scripted model prefers token 1 slightly over token 2: without a penalty greedy repeats 1.
        var session = new FixedLogitsSession([0f, 1.0f, 0.9f, 0f]);
        var plain = TextGenerator.Generate(session, [0], new GenerationRequest(3, SamplingOptions.Greedy), t => t.ToString());
        Assert.Equal([1, 1, 1], plain.TokenIds);

        session.Reset();
        var penalized = TextGenerator.Generate(session, [0], new GenerationRequest(3, SamplingOptions.Greedy with { RepeatPenalty = 1.5f }), t => t.ToString());
        // 1 first; once seen, 1.0 / 1.5 = 0.67 < 0.9 so 2; once both are seen, 0.67 > 0.9 / 1.5 = 0.6 so 1 again.
        Assert.Equal([1, 2, 1], penalized.TokenIds);
    }

    [Theory]
    [InlineData(-0.1f, 1f, "min-p must be in [0, 1]")]
    [InlineData(1.1f, 1f, "min-p must be in [0, 1]")]
    [InlineData(0f, 0f, "repeat-penalty must be > 0")]
    [InlineData(0f, float.NaN, "repeat-penalty must be > 0")]
    public void Out_of_range_settings_are_refused_with_the_valid_range(float minP, float repeatPenalty, string message)
    {
        var options = new SamplingOptions(1f, 0, 1f) { MinP = minP, RepeatPenalty = repeatPenalty };
        Assert.StartsWith(message, options.FindInvalidSetting());
    }

    /// <summary>A model that always answers the same logits, so only the penalty changes the choice.</summary>
    private sealed class FixedLogitsSession(float[] logits) : ILogitsSession
    {
        public int VocabSize => logits.Length;

        public int MaxContext => 32;

        public int Length { get; private set; }

        public float[] PrefillLast(ReadOnlySpan<int> tokens)
        {
            Length += tokens.Length;
            return (float[])logits.Clone();
        }

        public void Decode(int token, Span<float> destination)
        {
            Length++;
            logits.CopyTo(destination);
        }

        public void Reset() => Length = 0;
    }
}
