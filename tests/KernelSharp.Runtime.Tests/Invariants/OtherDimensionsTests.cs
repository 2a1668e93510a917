using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.Invariants;

/// <summary>
/// Nothing is sized for the fixtures: a random checkpoint of other, awkward dimensions (FP8 with partial 128×128
/// blocks, YaRN, three shards, two dense layers, two shared experts, no shared experts elsewhere) loads and keeps
/// the cache invariants across its own index_topk.
/// </summary>
public sealed class OtherDimensionsTests : IDisposable
{
    private static readonly ModelConfig Odd = (ModelPresets.Get("tiny") with
    {
        VocabSize = 300,
        HiddenSize = 136,
        NumHiddenLayers = 3,
        FirstKDenseReplace = 2,
        IntermediateSize = 200,
        NumAttentionHeads = 3,
        QLoraRank = 48,
        KvLoraRank = 40,
        QkNopeHeadDim = 24,
        QkRopeHeadDim = 8,
        VHeadDim = 20,
        IndexNHeads = 4,
        IndexHeadDim = 24,
        IndexTopk = 8,
        MoeIntermediateSize = 72,
        NRoutedExperts = 12,
        NSharedExperts = 2,
        NumExpertsPerTok = 3,
        NGroup = 3,
        TopkGroup = 2,
        RoutedScalingFactor = 1.5,
        MaxPositionEmbeddings = 512,
        Rope = new RopeConfig(RopeConfig.YarnType, 10000.0, 8.0, 64, 32.0, 1.0, 1.0, 1.0),
        NumNextnPredictLayers = 0,
    }).Validate("odd test config");

    private readonly TemporaryFolder folder = new();
    private readonly DeepSeekModel model;

    public OtherDimensionsTests()
    {
        var directory = Path.Combine(folder.Path, "odd");
        RandomCheckpointWriter.Write(Odd, directory, seed: 11, WeightFormat.Fp8, shards: 3);
        model = DeepSeekModel.Load(directory, new ModelLoadOptions { Device = "cpu" });
    }

    [Fact]
    public void Prefill_gives_finite_logits_and_matches_step_by_step_decoding_across_index_topk()
    {
        var tokens = CacheInvariantTests.Tokens(model, 20, seed: 5);
        var vocab = Odd.VocabSize;
        using var whole = model.CreateSession(20);
        var expected = whole.Prefill(tokens);
        Assert.All(expected, v => Assert.True(float.IsFinite(v)));

        using var stepwise = model.CreateSession(20);
        var first = stepwise.Prefill(tokens.AsSpan(0, 3));
        Assertions.Close(expected.AsSpan(0, 3 * vocab), first, 1e-5, "prefill of the first 3 tokens");
        for (var t = 3; t < tokens.Length; t++)
        {
            Assertions.Close(expected.AsSpan(t * vocab, vocab), stepwise.Decode(tokens[t]), 1e-5, $"decode at position {t} (index_topk {Odd.IndexTopk})");
        }
    }

    [Fact]
    public void Batch_decode_equals_single_decode()
    {
        using var a = model.CreateSession(32);
        using var b = model.CreateSession(32);
        a.Prefill(CacheInvariantTests.Tokens(model, 4, seed: 1));
        b.Prefill(CacheInvariantTests.Tokens(model, 15, seed: 2));
        using var aAlone = model.CreateSession(32);
        using var bAlone = model.CreateSession(32);
        aAlone.Prefill(CacheInvariantTests.Tokens(model, 4, seed: 1));
        bAlone.Prefill(CacheInvariantTests.Tokens(model, 15, seed: 2));

        var batched = model.DecodeBatch([a, b], [7, 299]);

        Assertions.Close([.. aAlone.Decode(7), .. bAlone.Decode(299)], batched, 1e-5, "batch of two");
    }

    public void Dispose()
    {
        model.Dispose();
        folder.Dispose();
    }
}
