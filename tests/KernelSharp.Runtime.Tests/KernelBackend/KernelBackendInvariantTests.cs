using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// Cache invariants of the model on the kernel backend (generated fast CPU path): a prefill continued token by token
/// equals one longer prefill, also where the key count crosses index_topk (dense → sparse attention), and a batch
/// of sequences decoded together equals each decoded alone.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class KernelBackendInvariantTests(KernelBackendFixture backends)
{
    private const double RowTolerance = 1e-5;

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Decoding_after_a_prefill_equals_a_longer_prefill_across_index_topk(string fixture)
    {
        using var golden = Fixtures.Golden(fixture);
        using var model = new KernelModelHarness(fixture, backends.Get(KernelBackend.FastCpu), 64);
        var vocab = model.Config.VocabSize;
        var first = model.Config.IndexTopk - 4; // decoding runs from dense (keys ≤ index_topk) into sparse attention
        var tokens = golden.Ints("prefill.input_ids").Take(model.Config.IndexTopk + 6).ToArray();
        var whole = model.Prefill(tokens);

        using var sequence = model.NewSequence(64);
        model.Forward((sequence, tokens[..first]));
        for (var t = first; t < tokens.Length; t++)
        {
            var step = model.Forward((sequence, [tokens[t]]));
            AssertRowClose(whole.AsSpan(t * vocab, vocab), step, $"{fixture} position {t}");
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void A_decode_batch_equals_each_sequence_decoded_alone(string fixture)
    {
        using var golden = Fixtures.Golden(fixture);
        using var model = new KernelModelHarness(fixture, backends.Get(KernelBackend.FastCpu), 8);
        var vocab = model.Config.VocabSize;
        var ids = golden.Ints("prefill.input_ids");
        int[][] prompts = [ids[..5], ids[10..(11 + model.Config.IndexTopk)]]; // the second one is past index_topk: sparse
        var next = new[] { ids[50], ids[51] };

        var alone = new float[2][];
        for (var s = 0; s < 2; s++)
        {
            using var sequence = model.NewSequence(64);
            model.Forward((sequence, prompts[s]));
            alone[s] = model.Forward((sequence, [next[s]]));
        }

        using var a = model.NewSequence(64);
        using var b = model.NewSequence(64);
        model.Forward((a, prompts[0]));
        model.Forward((b, prompts[1]));
        var batch = model.Forward((a, [next[0]]), (b, [next[1]]));
        AssertRowClose(alone[0], batch.AsSpan(0, vocab), $"{fixture} sequence 0");
        AssertRowClose(alone[1], batch.AsSpan(vocab, vocab), $"{fixture} sequence 1");
    }

    /// <summary>‖actual − expected‖ ≤ RowTolerance · ‖expected‖.</summary>
    private static void AssertRowClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        double difference = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            difference += (expected[i] - actual[i]) * (double)(expected[i] - actual[i]);
            norm += expected[i] * (double)expected[i];
        }

        var relative = Math.Sqrt(difference / Math.Max(norm, double.Epsilon));
        Assert.True(relative <= RowTolerance, $"{context}: relative row error {relative:E2} > {RowTolerance:E0}");
    }
}
