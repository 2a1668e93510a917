using KernelSharp.Runtime.Distributed;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;

namespace KernelSharp.Runtime.Tests.Distributed;

/// <summary>
/// The model split over N in-process ranks on the CPU (experts, embedding and head by rank, attention
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
    [InlineData(Fixtures.Bf16, 1, "cpu")]        // a group of one: the collectives run, as identities
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

        using var split = DeepSeekModel.Load(directory, options with { Ranks = ranks });
        Assert.Equal(ranks, split.RankCount);
        Assert.Contains($"{ranks} in-process rank", split.DeviceDescription);
        using var splitSession = split.CreateSession(64);
        var actual = Run(tokens => splitSession.PrefillLast(tokens), splitSession.Decode);
        AssertClose(single, actual, $"{fixture} over {ranks} ranks");
    }

    /// <summary>The serving path: sessions in a shared paged cache, filled to a depth, decoded together in one batch.</summary>
    [Fact]
    public void SplitModelDecodesABatchOfSharedCacheSessionsAsTheSingleModelDoes()
    {
        var directory = Fixtures.Directory(Fixtures.Bf16);
        var options = new ModelLoadOptions { Device = "cpu", MaxContext = 64 };
        using var model = DeepSeekModel.Load(directory, options);
        using var split = DeepSeekModel.Load(directory, options with { Ranks = 2 });
        var expected = DecodeThree(model);
        var actual = DecodeThree(split);
        AssertClose(expected, actual, "a batch of 3 over 2 ranks");

        static List<float[]> DecodeThree(DeepSeekModel model)
        {
            using var cache = model.CreateSharedKvCache(3 * 64, blockSize: 8);
            var sessions = Enumerable.Range(0, 3).Select(_ => model.CreateSession(40, cache)).ToList();
            try
            {
                sessions[0].FillWithRandomKeys(19, seed: 5);
                sessions[1].PrefillLast([3, 1, 4, 1, 5]);
                var steps = new List<float[]>();
                int[] tokens = [7, 8, 9];
                for (var step = 0; step < 3; step++)
                {
                    var logits = model.DecodeBatch(sessions, tokens);
                    steps.Add(logits);
                    tokens = [.. Enumerable.Range(0, 3).Select(b => Argmax(logits[(b * model.Config.VocabSize)..((b + 1) * model.Config.VocabSize)]))];
                }

                Assert.Equal([22, 8, 3], sessions.Select(s => s.Length));
                return steps;
            }
            finally
            {
                sessions.ForEach(s => s.Dispose());
            }
        }
    }

    private static void AssertClose(List<float[]> expected, List<float[]> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var step = 0; step < expected.Count; step++)
        {
            Assert.Equal(expected[step].Length, actual[step].Length);
            var scale = expected[step].Max(MathF.Abs);
            var worst = expected[step].Zip(actual[step], (e, a) => MathF.Abs(e - a)).Max() / scale;
            Assert.True(worst <= 1e-6f, $"{what}, step {step}: max |Δ| / max |logit| = {worst:E2}");
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
        var heads = shares.Select(p => p.Heads(config.NumAttentionHeads)).ToList();
        Assert.Equal(Enumerable.Range(0, config.NumAttentionHeads), heads.SelectMany(v => Enumerable.Range(v.First, v.Count)));
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
        var communicators = InProcessCommunicator.CreateGroup(3);
        using var threads = new RankThreads(3);
        // Rank 2 fails before its first collective; ranks 0 and 1 wait in one that it will never reach.
        var error = Assert.Throws<UserInputException>(() => threads.Run<bool>(rank =>
        {
            if (rank == 2)
            {
                Thread.Sleep(50);
                throw new UserInputException("rank 2 failed");
            }

            communicators[rank].AllReduceSum(new float[4]);
            return true;
        }, abort: () => communicators[0].Abort()));
        Assert.Equal("rank 2 failed", error.Message); // the cause, not the aborts it caused

        // The same threads run the next step.
        Assert.Equal([0, 10, 20], threads.Run(rank => rank * 10, abort: () => { }));
    }

    [Fact]
    public void SplitRequestsThatCannotWorkAreRefusedInOneLine()
    {
        var directory = Fixtures.Directory(Fixtures.Bf16);
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        var cpu = new ModelLoadOptions { Device = "cpu", MaxContext = 16 };
        Assert.Equal(
            $"the model has {config.NRoutedExperts} routed experts, fewer than the {config.NRoutedExperts + 1} ranks to split them over; use at most {config.NRoutedExperts} ranks",
            Assert.Throws<UserInputException>(() => DeepSeekModel.Load(directory, cpu with { Ranks = config.NRoutedExperts + 1 })).Message);
        Assert.Equal(
            $"the model has {config.NumAttentionHeads} attention heads, fewer than the {config.NumAttentionHeads + 1} ranks to split them over; use at most {config.NumAttentionHeads} ranks",
            Assert.Throws<UserInputException>(() => DeepSeekModel.Load(directory, cpu with { Ranks = config.NumAttentionHeads + 1 })).Message);
        Assert.Equal("GPUs 0,1 are CUDA devices, but the model runs on host CPU; a split over GPUs needs CUDA and NCCL",
            Assert.Throws<UserInputException>(() => DeepSeekModel.Load(directory, cpu with { Gpus = [0, 1] })).Message);
        Assert.Equal("GPUs 1,1: give distinct CUDA device numbers (0, 1, …), one per rank",
            Assert.Throws<UserInputException>(() => DeepSeekModel.Load(directory, cpu with { Gpus = [1, 1] })).Message);
        Assert.Equal("3 ranks on 2 GPUs (0,1): each rank needs a GPU of its own",
            Assert.Throws<UserInputException>(() => DeepSeekModel.Load(directory, cpu with { Ranks = 3, Gpus = [0, 1] })).Message);
        Assert.Equal("a model is split over at least 1 rank (got 0)",
            Assert.Throws<UserInputException>(() => DeepSeekModel.Load(directory, cpu with { Ranks = 0 })).Message);
    }

    [Fact]
    public void EachRanksMemoryEstimateCountsOnlyItsShare()
    {
        var config = ModelConfig.Load(Path.Combine(Fixtures.Directory(Fixtures.Bf16), "config.json"));
        var whole = MemoryEstimate.For(config, WeightStorage.Float32, 64, KvCacheFormat.Fp32);
        var plan = ParallelPlan.For(1, 4, config); // no shared experts on rank 1
        var share = MemoryEstimate.For(config, WeightStorage.Float32, 64, KvCacheFormat.Fp32, plan);
        long h = config.HiddenSize;
        long moeLayers = config.NumHiddenLayers - config.FirstKDenseReplace;
        var expertsElsewhere = config.NRoutedExperts - plan.Experts(config.NRoutedExperts).Count + config.NSharedExperts;
        var vocabularyElsewhere = config.VocabSize - plan.Vocabulary(config.VocabSize).Count;
        var headsElsewhere = config.NumAttentionHeads - plan.Heads(config.NumAttentionHeads).Count;
        long perHead = ((long)config.QkHeadDim * config.QLoraRank!.Value) + ((long)(config.QkNopeHeadDim + config.VHeadDim) * config.KvLoraRank) + (h * config.VHeadDim);
        Assert.Equal(
            whole.WeightBytes - (4 * moeLayers * 3 * h * config.MoeIntermediateSize * expertsElsewhere) - (4 * 2 * h * vocabularyElsewhere) - (4 * config.NumHiddenLayers * headsElsewhere * perHead),
            share.WeightBytes);
        Assert.Equal(whole.CacheBytes, share.CacheBytes); // attention and its caches are on every rank
    }
}
