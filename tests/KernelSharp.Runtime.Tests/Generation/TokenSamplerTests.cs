using KernelSharp.Runtime.Generation;
using Xunit;

namespace KernelSharp.Runtime.Tests.Generation;

public sealed class TokenSamplerTests
{
    public static TheoryData<float, int, float> Settings => new()
    {
        { 1.0f, 0, 1.0f },
        { 0.7f, 0, 1.0f },
        { 1.3f, 5, 1.0f },
        { 1.0f, 0, 0.6f },
        { 0.8f, 40, 0.95f },
        { 2.0f, 3, 0.5f },
        { 0.5f, 1, 1.0f },
        { 1.0f, 1000, 0.999f },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Probabilities_match_the_reference_on_random_logits(float temperature, int topK, float topP)
    {
        var random = new Random(1234 + topK);
        var options = new SamplingOptions(temperature, topK, topP);
        for (int trial = 0; trial < 20; trial++)
        {
            float[] logits = RandomLogits(random, vocab: 64 + trial * 7);
            double[] fast = TokenSampler.Probabilities(logits, options);
            double[] reference = TokenSamplerReference.Probabilities(logits, options);
            Assert.Equal(reference.Length, fast.Length);
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.True(Math.Abs(fast[i] - reference[i]) < 1e-9, $"token {i}: fast {fast[i]} reference {reference[i]}");
            }
        }
    }

    [Fact]
    public void Top_p_without_top_k_matches_the_reference_on_peaked_and_flat_distributions()
    {
        var random = new Random(77);
        foreach (float spread in new[] { 0.01f, 1f, 30f })
        {
            // Peaked (spread 30) puts the nucleus in a handful of tokens; flat (0.01) needs almost the whole vocabulary.
            float[] logits = RandomLogits(random, vocab: 400).Select(l => l * spread).ToArray();
            foreach (float topP in new[] { 0.3f, 0.9f, 0.999f })
            {
                var options = new SamplingOptions(1.0f, 0, topP);
                double[] fast = TokenSampler.Probabilities(logits, options);
                double[] reference = TokenSamplerReference.Probabilities(logits, options);
                for (int i = 0; i < reference.Length; i++)
                {
                    Assert.True(Math.Abs(fast[i] - reference[i]) < 1e-9, $"spread {spread} top-p {topP} token {i}: {fast[i]} vs {reference[i]}");
                }
            }
        }
    }

    [Fact]
    public void Ties_are_kept_or_dropped_by_id_like_the_reference()
    {
        float[] logits = [1f, 3f, 3f, 2f, 3f, 0f];
        foreach (var options in new[] { new SamplingOptions(1f, 2, 1f), new SamplingOptions(1f, 0, 0.5f), new SamplingOptions(0.5f, 4, 0.7f) })
        {
            Assert.Equal(TokenSamplerReference.Probabilities(logits, options), TokenSampler.Probabilities(logits, options), (a, b) => Math.Abs(a - b) < 1e-12);
        }
    }

    [Fact]
    public void Sampled_frequencies_follow_the_reference_distribution()
    {
        var random = new Random(99);
        float[] logits = RandomLogits(random, vocab: 50);
        var options = new SamplingOptions(Temperature: 0.9f, TopK: 20, TopP: 0.9f, Seed: 2024);
        double[] expected = TokenSamplerReference.Probabilities(logits, options);

        const int draws = 40_000;
        var counts = new int[logits.Length];
        var sampler = new TokenSampler(options);
        for (int i = 0; i < draws; i++)
        {
            counts[sampler.Sample(logits)]++;
        }

        // Pearson chi-square over the kept tokens; tokens with zero probability must never appear.
        double chiSquare = 0;
        int degrees = -1;
        for (int token = 0; token < logits.Length; token++)
        {
            if (expected[token] == 0)
            {
                Assert.Equal(0, counts[token]);
                continue;
            }
            double mean = expected[token] * draws;
            chiSquare += (counts[token] - mean) * (counts[token] - mean) / mean;
            degrees++;
        }
        Assert.True(degrees >= 2, "the test needs several kept tokens");
        // Mean = degrees, sd = sqrt(2 degrees); 6 sd is far outside chance, yet a wrong distribution lands far beyond it.
        Assert.True(chiSquare < degrees + 6 * Math.Sqrt(2 * degrees), $"chi-square {chiSquare:F1} with {degrees} degrees of freedom");
    }

    [Fact]
    public void Same_seed_repeats_and_another_seed_differs()
    {
        float[] logits = RandomLogits(new Random(5), vocab: 200);
        int[] Draw(int seed)
        {
            var sampler = new TokenSampler(new SamplingOptions(1.0f, 0, 1.0f, seed));
            return Enumerable.Range(0, 64).Select(_ => sampler.Sample(logits)).ToArray();
        }
        Assert.Equal(Draw(7), Draw(7));
        Assert.NotEqual(Draw(7), Draw(8));
    }

    [Fact]
    public void Temperature_zero_is_argmax_with_the_lowest_id_winning_ties()
    {
        float[] logits = RandomLogits(new Random(3), vocab: 300);
        int best = TokenSampler.ArgMax(logits);
        Assert.Equal(logits.Max(), logits[best]);
        logits[250] = logits[best];
        var sampler = new TokenSampler(SamplingOptions.Greedy with { Seed = 1 });
        Assert.Equal(Math.Min(best, 250), sampler.Sample(logits));
    }

    [Fact]
    public void Top_k_of_one_is_greedy_at_any_temperature()
    {
        var random = new Random(11);
        var sampler = new TokenSampler(new SamplingOptions(5.0f, 1, 1.0f, 42));
        for (int i = 0; i < 50; i++)
        {
            float[] logits = RandomLogits(random, vocab: 100);
            Assert.Equal(TokenSampler.ArgMax(logits), sampler.Sample(logits));
        }
    }

    [Theory]
    [InlineData(-0.1f, 0, 1.0f, "temperature must be >= 0")]
    [InlineData(float.NaN, 0, 1.0f, "temperature must be >= 0")]
    [InlineData(1.0f, -1, 1.0f, "top-k must be >= 0")]
    [InlineData(1.0f, 0, 0.0f, "top-p must be in (0, 1]")]
    [InlineData(1.0f, 0, 1.5f, "top-p must be in (0, 1]")]
    public void Out_of_range_settings_are_named(float temperature, int topK, float topP, string message)
    {
        var options = new SamplingOptions(temperature, topK, topP);
        Assert.StartsWith(message, options.FindInvalidSetting());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(options));
    }

    private static float[] RandomLogits(Random random, int vocab)
    {
        var logits = new float[vocab];
        for (int i = 0; i < vocab; i++)
        {
            logits[i] = (float)(random.NextDouble() * 8 - 4);
        }
        return logits;
    }
}
