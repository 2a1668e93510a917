using KernelSharp.Runtime.Distributed;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;

namespace KernelSharp.Runtime.Tests.Distributed;

/// <summary>
/// The model split over N in-process ranks on the CPU backend (experts, embedding and head by rank, attention
/// replicated) gives the single-device logits: the contract a split over GPUs must meet too.
/// </summary>
public sealed class ExpertParallelTests
{
    // 30 tokens: with the fixtures' top-k the prefill has more routed pairs than the kernel backend's grouped expert
    // path takes, so both its per-expert GEMM path (prefill) and its grouped path (decode) run on a range of experts.
    private static readonly int[] Prompt = [1, 17, 42, 99, 7, 256, 3, 128, 64, 5, 300, 11, 23, 480, 2, 77, 8, 150, 9, 400, 12, 34, 56, 78, 90, 111, 222, 333, 444, 6];

    /// <summary>Logits of the prompt's prefill and of 3 greedy decode steps after it.</summary>
    private static List<float[]> Run(Func<int[], float[]> prefill, Func<int, float[]> decode)
    {
        var steps = new List<float[]> { prefill(Prompt) };
        for (var i = 0; i < 3; i++)
        {
            steps.Add(decode(Argmax(steps[^1])));
        }

        return steps;
    }

    private static int Argmax(float[] logits) => Array.IndexOf(logits, logits.Max());

    [Theory]
    [InlineData(Fixtures.Bf16, 2, "cpu")]
    [InlineData(Fixtures.Bf16, 3, "cpu")]        // 16 experts and 512 vocabulary rows split unevenly
    [InlineData(Fixtures.Fp8Yarn, 4, "cpu")]
    // The kernel backend's MoE path on a range of the experts, on its generated CPU path: the split logic (first held
    // expert, pairs without a slot) is the backend's and runs the same there. On ILGPU's CPU accelerator this case took
    // minutes (about one of kernel compiles per device, three devices, a 30-token prefill); the GPU code of the range
    // kernels is checked there one kernel at a time (PermuteByExpert in the kernel tests, CombineExperts in BackendKernelTests).
    [InlineData(Fixtures.Bf16, 2, "cpu-kernels")]
    public void SplitModelMatchesTheSingleDeviceModel(string fixture, int ranks, string device)
    {
        var directory = Fixtures.Directory(fixture);
        var options = new ModelLoadOptions { Device = device, MaxContext = 64 };
        List<float[]> single;
        using (var model = DeepSeekModel.Load(directory, options))
        using (var session = model.CreateSession(64))
        {
            single = Run(tokens => session.PrefillLast(tokens), session.Decode);
        }

        using var split = InProcessRanks.Load(directory, ranks, options);
        var sessions = split.RunOnAll((model, _) => model.CreateSession(64));
        var perRank = split.RunOnAll((_, rank) => Run(tokens => sessions[rank].PrefillLast(tokens), sessions[rank].Decode));

        for (var step = 0; step < single.Count; step++)
        {
            var expected = single[step];
            var scale = expected.Max(MathF.Abs);
            for (var rank = 0; rank < ranks; rank++)
            {
                var actual = perRank[rank][step];
                Assert.Equal(expected.Length, actual.Length);
                var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max() / scale;
                Assert.True(worst <= 1e-6f, $"{fixture} over {ranks} ranks, step {step}, rank {rank}: max |Δ| / max |logit| = {worst:E2}");
                Assert.Equal(perRank[0][step], actual); // every rank ends with the same logits
            }
        }
    }

    [Fact]
    public void EachRankHoldsOnlyItsShare()
    {
        var config = ModelConfig.Load(Path.Combine(Fixtures.Directory(Fixtures.Bf16), "config.json"));
        var shares = Enumerable.Range(0, 3).Select(rank => ParallelPlan.For(rank, 3, config)).ToList();
        var experts = shares.Select(p => p.Experts(config.NRoutedExperts)).ToList();
        Assert.Equal(Enumerable.Range(0, config.NRoutedExperts), experts.SelectMany(e => Enumerable.Range(e.First, e.Count)));
        var vocabulary = shares.Select(p => p.Vocabulary(config.VocabSize)).ToList();
        Assert.Equal(Enumerable.Range(0, config.VocabSize), vocabulary.SelectMany(v => Enumerable.Range(v.First, v.Count)));
        Assert.Equal([true, false, false], shares.Select(p => p.HoldsSharedExperts));
    }

    [Fact]
    public void MoreRanksThanExpertsIsAClearError()
    {
        var config = ModelConfig.Load(Path.Combine(Fixtures.Directory(Fixtures.Bf16), "config.json"));
        var error = Assert.Throws<UserInputException>(() => ParallelPlan.For(0, config.NRoutedExperts + 1, config));
        Assert.Equal($"the model has {config.NRoutedExperts} routed experts, fewer than the {config.NRoutedExperts + 1} ranks to split them over; use at most {config.NRoutedExperts} ranks", error.Message);
    }

    [Fact]
    public void ARankThatFailsStopsTheOthersInsteadOfHangingThem()
    {
        using var split = InProcessRanks.Load(Fixtures.Directory(Fixtures.Bf16), 2, new ModelLoadOptions { Device = "cpu", MaxContext = 16 });
        var sessions = split.RunOnAll((model, _) => model.CreateSession(16));
        // Rank 1 is given a token outside the vocabulary: it fails before its first collective; rank 0 must not wait forever.
        var error = Assert.Throws<UserInputException>(() => split.RunOnAll((_, rank) => sessions[rank].PrefillLast(rank == 0 ? [1, 2] : [1, 100_000])));
        Assert.Contains("outside the vocabulary", error.Message);
    }
}
