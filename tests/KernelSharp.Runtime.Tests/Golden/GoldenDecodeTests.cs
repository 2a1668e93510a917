using KernelSharp.Runtime.Model;
using Xunit;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>Greedy decoding with the KV cache against the reference's tokens and step logits.</summary>
public sealed class GoldenDecodeTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Greedy_decode_reproduces_tokens_and_step_logits(string fixture) => CheckDecode(fixture, "decode", finalLogits: true);

    /// <summary>A short prompt whose key count crosses index_topk while decoding: dense steps first, then sparse.</summary>
    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Greedy_decode_across_index_topk_reproduces_tokens_and_step_logits(string fixture) => CheckDecode(fixture, "decode_cross", finalLogits: false);

    private void CheckDecode(string fixture, string prefix, bool finalLogits)
    {
        using var golden = Fixtures.Golden(fixture);
        var model = Fixtures.Model(fixture);
        var vocab = model.Config.VocabSize;
        var prompt = golden.Ints($"{prefix}.prompt_ids");
        var expectedTokens = golden.Ints($"{prefix}.generated_ids");
        var referenceSteps = golden.Floats($"{prefix}.step_logits"); // [N, V]
        using var session = model.CreateSession(prompt.Length + expectedTokens.Length + 1);

        // Greedy: each step's argmax feeds the next step. We feed the reference token so one near-tie cannot derail the rest,
        // and count how often our own argmax agreed.
        var steps = new float[referenceSteps.Length];
        var logits = session.PrefillLast(prompt);
        var generated = new int[expectedTokens.Length];
        for (var n = 0; n < expectedTokens.Length; n++)
        {
            logits.CopyTo(steps, n * vocab);
            generated[n] = RowErrors.ArgMax(logits);
            logits = session.Decode(expectedTokens[n]);
        }

        var errors = RowErrors.Compare(steps, referenceSteps, vocab);
        var tokensAgreeing = generated.Zip(expectedTokens).Count(p => p.First == p.Second);
        output.WriteLine($"{fixture} {prefix}: {tokensAgreeing}/{expectedTokens.Length} greedy tokens agree; step logits {errors}");
        if (prefix == "decode_cross")
        {
            // the point of this case: the first steps are dense, the later ones sparse
            Assert.InRange(model.Config.IndexTopk, prompt.Length, prompt.Length + expectedTokens.Length - 1);
        }

        Assert.True(errors.Median <= 1e-4, $"median {errors}");
        Assert.True(errors.P99 <= 1e-3, $"p99 {errors}");
        Assert.True(errors.ArgmaxAgreement >= 0.98, $"argmax {errors}");
        Assert.Equal(expectedTokens, generated);
        if (finalLogits)
        {
            var final = RowErrors.Compare(logits, golden.Floats($"{prefix}.final_logits"), vocab);
            output.WriteLine($"{fixture} {prefix} final logits: {final}");
            Assert.True(final.Max <= 1e-3, $"final {final}");
        }
    }
}
