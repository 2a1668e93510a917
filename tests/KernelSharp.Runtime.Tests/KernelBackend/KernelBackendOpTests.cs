using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;
using KernelSharp.Runtime.Tests.Model;
using Xunit;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// Every op of the kernel backend against the same op of the fp32 reference backend on fresh random inputs, on the generated
/// fast CPU path and on the ILGPU CPU accelerator (the code path GPUs take).
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class KernelBackendOpTests(KernelBackendFixture fixture)
{
    private const double Tolerance = 2e-5;

    private readonly CpuBackend cpu = new();

    public static TheoryData<KernelBackend> Kinds => new() { KernelBackend.FastCpu, KernelBackend.IlgpuCpu };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Storage_ops_match(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        var source = random.Floats(7 * 12);          // [7, 12]
        var destination = random.Floats(10 * 5);     // [10, 5]
        var indices = Enumerable.Range(0, 21).Select(_ => random.Next(100) - 1).ToArray();
        int[] rows = [3, 0, 6, 6];

        foreach (var backend in new IModelBackend[] { cpu, kernels })
        {
            Assert.Equal(indices, backend.Download(backend.Upload(indices, 3, 7)));
            Assert.Equal(new float[6], backend.Download(backend.Allocate(2, 3)));
        }

        Compare(b => b.Columns(b.Upload(source, 7, 12), 4, 5), kernels, random, "Columns");
        Compare(b => b.GatherRows(b.Upload(source, 7, 12), rows), kernels, random, "GatherRows");
        Compare(b =>
        {
            var target = b.Upload(destination.ToArray(), 10, 5); // the fp32 reference backend keeps the array: in-place ops get a copy
            b.WriteRows(target, 4, b.Upload(source, 7, 12), 2, 3, 6);
            return target;
        }, kernels, random, "WriteRows");

        var normWeight = random.Floats(5); // [1, 5]
        Compare(b =>
        {
            var target = b.Upload(destination.ToArray(), 10, 5);
            b.RmsNormRowsInto(target, 4, b.Upload(source, 7, 12), 2, 3, 6, b.Upload(normWeight, 1, 5), 1e-6f);
            return target;
        }, kernels, random, "RmsNormRowsInto a tensor");
        foreach (var window in new[] { 0, 1 })
        {
            // into one of the two column windows of a latent cache [10, 5 + 3], as the model writes c; the other stays 0
            Compare(b =>
            {
                var (latent, ropeKeys) = b.AllocateLatentCache(10, 5, 3);
                var target = window == 0 ? latent : ropeKeys;
                var weightColumns = target.Columns;
                b.RmsNormRowsInto(target, 6, b.Upload(source, 7, 12), 3, 4, 1, b.Upload(normWeight[..weightColumns], 1, weightColumns), 1e-6f);
                var other = window == 0 ? ropeKeys : latent;
                Assert.True(b.Download(other).All(v => v == 0f), $"{random}: RmsNormRowsInto wrote outside window {window}");
                other.Dispose();
                return target;
            }, kernels, random, $"RmsNormRowsInto cache window {window}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Dense_ops_match(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        // 45 features: not a multiple of any tile or vector width, so every kernel's edge handling runs
        foreach (var rows in new[] { 1, 3, 70 })
        {
            var x = random.Floats(rows * 45);          // [rows, 45]
            var weight = random.Floats(37 * 45, 0.2f); // [37, 45]
            var norm = random.Floats(45);              // [1, 45]
            var bias = random.Floats(45);              // [1, 45]
            var addend = random.Floats(rows * 45);
            Compare(b => b.Linear(b.Upload(x, rows, 45), b.Upload(weight, 37, 45)), kernels, random, $"Linear T={rows}");
            Compare(b => b.RmsNorm(b.Upload(x, rows, 45), b.Upload(norm, 1, 45), 1e-6f), kernels, random, $"RmsNorm T={rows}");
            Compare(b => b.LayerNorm(b.Upload(x, rows, 45), b.Upload(norm, 1, 45), b.Upload(bias, 1, 45), 1e-6f), kernels, random, $"LayerNorm T={rows}");
            Compare(b =>
            {
                var target = b.Upload(x.ToArray(), rows, 45); // the fp32 reference backend keeps the array: in-place ops get a copy
                b.AddInPlace(target, b.Upload(addend, rows, 45));
                b.ScaleInPlace(target, -0.75f);
                return target;
            }, kernels, random, $"AddInPlace/ScaleInPlace T={rows}");
            foreach (var part in new[] { "normalized", "residual" })
            {
                Compare(b =>
                {
                    var residual = b.Upload(x.ToArray(), rows, 45); // a copy: updated in place
                    var normalized = b.AddRmsNorm(residual, b.Upload(addend, rows, 45), b.Upload(norm, 1, 45), 1e-6f);
                    (part == "residual" ? normalized : residual).Dispose();
                    return part == "residual" ? residual : normalized;
                }, kernels, random, $"AddRmsNorm {part} T={rows}");
            }

            Compare(b => b.RmsNormColumns(b.Upload(x, rows, 45), 7, b.Upload(norm[..30], 1, 30), 1e-6f), kernels, random, $"RmsNormColumns T={rows}");
            var gateUp = random.Floats(rows * 2 * 22, 4f); // [rows, gate 22 ‖ up 22]
            Compare(b => b.SwiGlu(b.Upload(gateUp, rows, 44)), kernels, random, $"SwiGlu T={rows}");

            var gate = random.Floats(40 * 45, 0.3f);   // [I=40, H=45]
            var up = random.Floats(40 * 45, 0.3f);
            var down = random.Floats(45 * 40, 0.3f);   // [H, I]
            Compare(b => b.FeedForward(b.Upload(x, rows, 45), new FeedForwardWeights(b.Upload(gate, 40, 45), b.Upload(up, 40, 45), b.Upload(down, 45, 40))),
                kernels, random, $"FeedForward T={rows}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Rope_matches_in_both_layouts(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        const int rows = 5, heads = 3, headDim = 24, pairs = 8, offset = 6;
        var x = random.Floats(rows * heads * headDim);
        var angles = random.Floats(rows * pairs, 3f);
        var cos = angles.Select(MathF.Cos).ToArray(); // [rows, pairs]
        var sin = angles.Select(MathF.Sin).ToArray();
        foreach (var layout in new[] { RopeLayout.Interleaved, RopeLayout.HalfSplit })
        {
            Compare(b =>
            {
                var values = b.Upload(x.ToArray(), rows, heads * headDim); // a copy: the fp32 reference backend rotates its array in place
                b.ApplyRope(values, heads, headDim, offset, b.Upload(cos, rows, pairs), b.Upload(sin, rows, pairs), layout);
                return values;
            }, kernels, random, $"ApplyRope {layout}");
            foreach (var window in new[] { false, true })
            {
                // rows 1..3 of x, from column 10 on, rotated at offset 4 into rows 5..7 of a cache [9, 22] (or its latent window)
                Compare(b =>
                {
                    var (latent, ropeKeys) = window ? b.AllocateLatentCache(9, 22, 4) : (b.Allocate(9, 22), null);
                    ropeKeys?.Dispose();
                    b.WriteRotatedRows(latent, 5, b.Upload(x, rows, heads * headDim), 1, 3, 10, 4, b.Upload(cos, rows, pairs), b.Upload(sin, rows, pairs), layout);
                    return latent;
                }, kernels, random, $"WriteRotatedRows {layout}{(window ? " into a cache window" : "")}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Indexer_scores_and_topk_match(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        const int heads = 4, dim = 16, k = 6;
        var cacheA = random.Floats(30 * dim); // sequence A: 9 cached + 8 new rows
        var cacheB = random.Floats(30 * dim); // sequence B: decode at position 20
        var q = random.Floats(9 * heads * dim);
        var weights = random.Floats(9 * heads);
        IReadOnlyList<AttentionSegment> Segments(IModelBackend b) =>
        [
            new AttentionSegment(0, 8, 9, b.Allocate(1, 1), b.Allocate(1, 1), b.Upload(cacheA, 30, dim)),
            new AttentionSegment(8, 1, 20, b.Allocate(1, 1), b.Allocate(1, 1), b.Upload(cacheB, 30, dim)),
        ];

        Compare(b => b.IndexerScores(b.Upload(q, 9, heads * dim), b.Upload(weights, 9, heads), heads, Segments(b)), kernels, random, "IndexerScores");

        // Top-k on the same scores: compared as sets (the kernel returns ascending indices, the CPU score order).
        var scores = cpu.Download(cpu.IndexerScores(cpu.Upload(q, 9, heads * dim), cpu.Upload(weights, 9, heads), heads, Segments(cpu)));
        var expected = cpu.Download(cpu.TopK(cpu.Upload(scores, 9, 21), k, Segments(cpu)));
        var actual = kernels.Download(kernels.TopK(kernels.Upload(scores, 9, 21), k, Segments(kernels)));
        for (var t = 0; t < 9; t++)
        {
            var want = expected.Skip(t * k).Take(k).Order().ToArray();
            var got = actual.Skip(t * k).Take(k).Order().ToArray();
            Assert.True(want.SequenceEqual(got), $"{random}: TopK row {t}: [{string.Join(", ", got)}], expected [{string.Join(", ", want)}]");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Mla_attention_matches_dense_and_sparse(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        var dims = new MlaDimensions(Heads: 10, NopeDim: 8, RopeDim: 4, ValueDim: 12, LatentDim: 16); // 10 heads: two head blocks of the kernel, one partial
        const int rows = 7, context = 24, k = 5;
        var q = random.Floats(rows * dims.Heads * dims.QueryHeadDim);
        var kvB = random.Floats(dims.Heads * (dims.NopeDim + dims.ValueDim) * dims.LatentDim, 0.3f);
        var latentA = random.Floats(context * dims.LatentDim);
        var ropeA = random.Floats(context * dims.RopeDim);
        var latentB = random.Floats(context * dims.LatentDim);
        var ropeB = random.Floats(context * dims.RopeDim);
        // rows 0..5: a prefill continuing 4 cached tokens; row 6: a decode at position 17. Slots hold −1s and some future keys.
        var selected = Enumerable.Range(0, rows * k).Select(_ => random.Next(context + 1) - 1).ToArray();
        IReadOnlyList<AttentionSegment> Segments(IModelBackend b) =>
        [
            new AttentionSegment(0, 6, 4, b.Upload(latentA, context, dims.LatentDim), b.Upload(ropeA, context, dims.RopeDim), b.Allocate(1, 1)),
            new AttentionSegment(6, 1, 17, b.Upload(latentB, context, dims.LatentDim), b.Upload(ropeB, context, dims.RopeDim), b.Allocate(1, 1)),
        ];

        Compare(b => b.MlaAttention(b.Upload(q, rows, dims.Heads * dims.QueryHeadDim), b.Upload(kvB, dims.Heads * (dims.NopeDim + dims.ValueDim), dims.LatentDim),
            dims, 0.3f, Segments(b), null), kernels, random, "MlaAttention dense");
        Compare(b => b.MlaAttention(b.Upload(q, rows, dims.Heads * dims.QueryHeadDim), b.Upload(kvB, dims.Heads * (dims.NopeDim + dims.ValueDim), dims.LatentDim),
            dims, 0.3f, Segments(b), b.Upload(selected, rows, k)), kernels, random, "MlaAttention sparse");
        var angles = random.Floats(rows * (dims.RopeDim / 2), 3f); // [rows, rope/2]
        var cos = angles.Select(MathF.Cos).ToArray();
        var sin = angles.Select(MathF.Sin).ToArray();
        Compare(b => b.MlaAttention(b.Upload(q, rows, dims.Heads * dims.QueryHeadDim), b.Upload(kvB, dims.Heads * (dims.NopeDim + dims.ValueDim), dims.LatentDim),
            dims, 0.3f, Segments(b), b.Upload(selected, rows, k), b.Upload(cos, rows, dims.RopeDim / 2), b.Upload(sin, rows, dims.RopeDim / 2)),
            kernels, random, "MlaAttention sparse, q_pe rotated inside");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Expert_routing_and_mixing_match(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        const int rows = 9, experts = 12, hidden = 20, inner = 8;
        var settings = new RouterSettings(Groups: 4, KeptGroups: 2, ExpertsPerToken: 3, NormalizeWeights: true, ScalingFactor: 2.5f);
        var logits = random.Floats(rows * experts, 3f);
        var bias = random.Floats(experts, 0.8f);
        var x = random.Floats(rows * hidden);
        var weights = Enumerable.Range(0, experts).Select(_ => (Gate: random.Floats(inner * hidden, 0.3f), Up: random.Floats(inner * hidden, 0.3f), Down: random.Floats(hidden * inner, 0.3f))).ToArray();

        // All biased scores negative: every kept expert loses to the dropped ones, which transformers scores 0.
        var negativeBias = bias.Select(b => b * 0.1f - 2f).ToArray();
        foreach (var (settingsCase, biasCase) in new[] { (settings, bias), (settings with { NormalizeWeights = false }, bias), (settings, negativeBias) })
        {
            var expected = cpu.RouteExperts(cpu.Upload(logits, rows, experts), cpu.Upload(biasCase, 1, experts), settingsCase);
            var actual = kernels.RouteExperts(kernels.Upload(logits, rows, experts), kernels.Upload(biasCase, 1, experts), settingsCase);
            Assert.True(cpu.Download(expected.Experts).SequenceEqual(kernels.Download(actual.Experts)), $"{random}: RouteExperts experts differ ({settingsCase})");
            Close(cpu.Download(expected.Weights), kernels.Download(actual.Weights), $"{random}: RouteExperts weights");
        }

        Compare(b =>
        {
            var routing = b.RouteExperts(b.Upload(logits, rows, experts), b.Upload(bias, 1, experts), settings);
            var ffns = weights.Select(w => new FeedForwardWeights(b.Upload(w.Gate, inner, hidden), b.Upload(w.Up, inner, hidden), b.Upload(w.Down, hidden, inner))).ToList();
            return b.MixExperts(b.Upload(x, rows, hidden), routing, ffns);
        }, kernels, random, "MixExperts");
        var shared = random.Floats(rows * hidden); // [T, H] stands in for the shared experts' output
        Compare(b =>
        {
            var routing = b.RouteExperts(b.Upload(logits, rows, experts), b.Upload(bias, 1, experts), settings);
            var ffns = weights.Select(w => new FeedForwardWeights(b.Upload(w.Gate, inner, hidden), b.Upload(w.Up, inner, hidden), b.Upload(w.Down, hidden, inner))).ToList();
            return b.MixExperts(b.Upload(x, rows, hidden), routing, ffns, b.Upload(shared, rows, hidden));
        }, kernels, random, "MixExperts with shared experts");
    }

    /// <summary>Runs <paramref name="op"/> on the fp32 reference backend and on the kernel backend and compares the results.</summary>
    private void Compare(Func<IModelBackend, Tensor> op, IModelBackend kernels, RandomData random, string what)
    {
        using var expected = op(cpu);
        using var actual = op(kernels);
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Columns, actual.Columns);
        Close(cpu.Download(expected), kernels.Download(actual), $"{random}: {what}");
    }

    /// <summary>|a − b| ≤ Tolerance · max(1, |b|) element-wise; equal infinities (masked scores) match.</summary>
    private static void Close(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (float.IsInfinity(expected[i]) && expected[i] == actual[i])
            {
                continue;
            }

            var allowed = Tolerance * Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed, $"{context}: element {i} is {actual[i]}, expected {expected[i]} (±{allowed:E1})");
        }
    }
}
