using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Linear;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Model;
using Xunit;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The tensor-core prefill Linear (<see cref="KernelTensorCoreLinear"/>) on fresh random inputs: prefill-sized Linear
/// with bf16 / FP8 weights equals a float64 product of the bf16-rounded activations (and FP8 weights times their
/// scale rounded to bf16, as the kernel feeds the tensor cores) and measurably differs from the exact product, so the
/// path is really taken; decode rows and fp32 weights are untouched; FeedForward and MixExperts (per-expert GEMMs)
/// take the path too and stay within bf16 distance of the exact backend.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class TensorCoreLinearTests(TensorCorePrefillFixture tensorCores, KernelBackendFixture exact)
{
    /// <summary>fp32 sums of exact bf16 products: only the summation order differs from float64.</summary>
    private const double SummationTolerance = 1e-5;

    /// <summary>Rounding activations to bf16 (2^-9 relative per element) moves a random-sign dot product by ~1e-3.</summary>
    private const double Bf16Distance = 1e-4;

    [Theory]
    [InlineData(NativeMatrixFormat.Bf16)]
    [InlineData(NativeMatrixFormat.Fp8E4M3)]
    public void FastCpu_prefill_linear_multiplies_bf16_activations(NativeMatrixFormat format) => CheckLinear(KernelBackend.FastCpu, format);

    [Fact]
    public void FastCpu_decode_rows_and_fp32_weights_stay_exact() => CheckUntouched(KernelBackend.FastCpu);

    [Theory]
    [InlineData(NativeMatrixFormat.Bf16)]
    [InlineData(NativeMatrixFormat.Fp8E4M3)]
    public void FastCpu_feed_forward_and_experts_stay_within_bf16_distance_of_exact(NativeMatrixFormat format) => CheckFeedForward(KernelBackend.FastCpu, format);

    [SkippableFact]
    public void Cuda_tensor_core_linear_feed_forward_and_experts()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        foreach (var format in new[] { NativeMatrixFormat.Bf16, NativeMatrixFormat.Fp8E4M3 })
        {
            CheckLinear(KernelBackend.Cuda, format);
            CheckFeedForward(KernelBackend.Cuda, format);
        }

        CheckUntouched(KernelBackend.Cuda);
    }

    private void CheckLinear(KernelBackend kind, NativeMatrixFormat format)
    {
        var random = new RandomData();
        var backend = tensorCores.Get(kind);
        // 136: 16-byte rows (cp.async); 130: element loads and partial FP8 scale blocks; 150 rows: two m tiles; from
        // WidenFp8MinRows rows on an FP8 weight is widened to bf16 first (16-byte runs for 144, element runs for 130).
        var shapes = new[]
        {
            (KernelModelBackend.GemvMaxRows + 1, 136, 136), (150, 130, 130),
            (KernelTensorCoreLinear.WidenFp8MinRows, 136, 144), (KernelTensorCoreLinear.WidenFp8MinRows + 3, 130, 130),
        };
        foreach (var (rows, outFeatures, inFeatures) in shapes)
        {
            var x = random.Floats(rows * inFeatures); // [T, in]
            var weight = RandomMatrices.Create(random, format, outFeatures, inFeatures);
            using var input = backend.Upload(x, rows, inFeatures);
            using var native = backend.UploadNative(weight);
            using var output = backend.Linear(input, native);
            var actual = backend.Download(output); // [T, out]

            var tensorCoreWeight = TensorCoreWeight(weight); // [out, in] as the tensor cores see it
            var roundedX = x.Select(v => (double)Bf16.ToFloat(Bf16.FromFloat(v))).ToArray();
            var expected = TensorCoreGemmReference.Multiply(roundedX, tensorCoreWeight, rows, outFeatures, inFeatures);
            var magnitudes = TensorCoreGemmReference.Multiply(roundedX.Select(Math.Abs).ToArray(), tensorCoreWeight.Select(Math.Abs).ToArray(), rows, outFeatures, inFeatures);
            for (var i = 0; i < expected.Length; i++)
            {
                var allowed = SummationTolerance * magnitudes[i] + 1e-30;
                Assert.True(Math.Abs(actual[i] - expected[i]) <= allowed,
                    $"{random}: {format} T={rows} [{outFeatures}, {inFeatures}] element {i} is {actual[i]}, expected {expected[i]} (±{allowed:E1})");
            }

            var exactProduct = TensorCoreGemmReference.Multiply(x.Select(v => (double)v).ToArray(), tensorCoreWeight, rows, outFeatures, inFeatures);
            var distance = RelativeDistance(actual, exactProduct);
            Assert.True(distance > Bf16Distance, $"{random}: {format} T={rows}: relative distance {distance:E2} from the fp32-activation product; the tensor-core path was not taken");
        }
    }

    private void CheckUntouched(KernelBackend kind)
    {
        var random = new RandomData();
        var withTensorCores = tensorCores.Get(kind);
        var reference = exact.Get(kind);
        const int inFeatures = 136, outFeatures = 72;
        var nativeWeight = RandomMatrices.Create(random, NativeMatrixFormat.Bf16, outFeatures, inFeatures);
        var fp32Weight = random.Floats(outFeatures * inFeatures, 0.1f); // [out, in]
        foreach (var rows in new[] { 3, KernelModelBackend.GemvMaxRows + 1 })
        {
            var x = random.Floats(rows * inFeatures); // [T, in]
            if (rows <= KernelModelBackend.GemvMaxRows)
            {
                Assert.Equal(Run(reference, x, rows, b => b.UploadNative(nativeWeight)), Run(withTensorCores, x, rows, b => b.UploadNative(nativeWeight)));
            }

            Assert.Equal(Run(reference, x, rows, b => b.Upload(fp32Weight, outFeatures, inFeatures)), Run(withTensorCores, x, rows, b => b.Upload(fp32Weight, outFeatures, inFeatures)));
        }

        static float[] Run(IModelBackend backend, float[] x, int rows, Func<IModelBackend, Tensor> weight)
        {
            using var input = backend.Upload(x, rows, x.Length / rows);
            using var w = weight(backend);
            using var output = backend.Linear(input, w);
            return backend.Download(output);
        }
    }

    private void CheckFeedForward(KernelBackend kind, NativeMatrixFormat format)
    {
        var random = new RandomData();
        const int hidden = 136, inner = 130, experts = 4;
        var gate = RandomMatrices.Create(random, format, inner, hidden);
        var up = RandomMatrices.Create(random, format, inner, hidden);
        var down = RandomMatrices.Create(random, format, hidden, inner);
        const int rows = KernelMoe.GroupedMaxSlots / 2 + 1; // (token, expert) slots past the grouped-GEMV limit, so per-expert GEMMs over the stacks
        var x = random.Floats(rows * hidden); // [T, H]
        CompareToExact(kind, random, $"{format} FeedForward T={rows}",
            b => b.FeedForward(b.Upload(x, rows, hidden), new FeedForwardWeights(b.UploadNative(gate), b.UploadNative(up), b.UploadNative(down))));

        var expertWeights = Enumerable.Range(0, experts).Select(_ => (Gate: RandomMatrices.Create(random, format, inner, hidden),
            Up: RandomMatrices.Create(random, format, inner, hidden), Down: RandomMatrices.Create(random, format, hidden, inner))).ToArray();
        var settings = new RouterSettings(Groups: 2, KeptGroups: 1, ExpertsPerToken: 2, NormalizeWeights: true, ScalingFactor: 1.5f);
        var logits = random.Floats(rows * experts, 3f);
        var bias = random.Floats(experts, 0.5f);
        CompareToExact(kind, random, $"{format} MixExperts T={rows}",
            b => b.MixExperts(b.Upload(x, rows, hidden), b.RouteExperts(b.Upload(logits, rows, experts), b.Upload(bias, 1, experts), settings),
                b.UploadExperts(expertWeights.Select(w => w.Gate).ToList(), expertWeights.Select(w => w.Up).ToList(), expertWeights.Select(w => w.Down).ToList())));
    }

    [Theory]
    [InlineData(NativeMatrixFormat.Bf16)]
    [InlineData(NativeMatrixFormat.Fp8E4M3)]
    public void FastCpu_prompt_experts_run_the_bf16_pipeline_over_the_stacks(NativeMatrixFormat format) => CheckStackedExperts(KernelBackend.FastCpu, format);

    [SkippableFact]
    public void Cuda_prompt_experts_run_the_bf16_pipeline_over_the_stacks()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        CheckStackedExperts(KernelBackend.Cuda, NativeMatrixFormat.Bf16);
        CheckStackedExperts(KernelBackend.Cuda, NativeMatrixFormat.Fp8E4M3);
    }

    /// <summary>
    /// A prompt's routed experts over stacked weights (the grouped tensor-core GEMMs): every token's mix equals, in float64,
    /// the pipeline the per-expert tensor-core path computes: x rounded to bf16, gate and up sums, SwiGLU in fp32 rounded to
    /// bf16, the down sums, weighted by the router. Experts are uneven (one gets most slots, some none) so tiles span
    /// experts' boundaries of every kind.
    /// </summary>
    private void CheckStackedExperts(KernelBackend kind, NativeMatrixFormat format)
    {
        var random = new RandomData();
        var backend = tensorCores.Get(kind);
        const int hidden = 136, inner = 130, experts = 6, topk = 2;
        const int rows = KernelMoe.GroupedMaxSlots / topk + 7; // slots past the grouped-GEMV limit
        var weights = Enumerable.Range(0, experts).Select(_ => (Gate: RandomMatrices.Create(random, format, inner, hidden),
            Up: RandomMatrices.Create(random, format, inner, hidden), Down: RandomMatrices.Create(random, format, hidden, inner))).ToArray();
        var x = random.Floats(rows * hidden); // [T, H]
        var logits = random.Floats(rows * experts, 3f);
        for (var t = 0; t < rows; t++)
        {
            logits[t * experts] += 20f; // expert 0 takes every token: more than two tiles of 128 slots
            logits[t * experts + 5] -= 20f; // expert 5 none
        }

        var settings = new RouterSettings(Groups: 1, KeptGroups: 1, ExpertsPerToken: topk, NormalizeWeights: true, ScalingFactor: 1.5f);
        using var input = backend.Upload(x, rows, hidden);
        using var routing = backend.RouteExperts(backend.Upload(logits, rows, experts), backend.Upload(new float[experts], 1, experts), settings);
        var stacked = backend.UploadExperts(weights.Select(w => w.Gate).ToList(), weights.Select(w => w.Up).ToList(), weights.Select(w => w.Down).ToList());
        Assert.True(stacked[0].Gate is KernelWeight { Stack: not null }, "in-memory experts are stacked");
        using var mixed = backend.MixExperts(input, routing, stacked);
        var actual = backend.Download(mixed);
        var chosen = backend.Download(routing.Experts);
        var mix = backend.Download(routing.Weights);
        Assert.DoesNotContain(5, chosen);
        Assert.True(chosen.Count(e => e == 0) > 2 * 128, "expert 0 spans more than two tiles");

        var tensorCoreWeights = weights.Select(w => (Gate: TensorCoreWeight(w.Gate), Up: TensorCoreWeight(w.Up), Down: TensorCoreWeight(w.Down))).ToArray();
        var expected = new double[rows * hidden];
        for (var t = 0; t < rows; t++)
        {
            var row = x.AsSpan(t * hidden, hidden).ToArray().Select(v => (double)Bf16.ToFloat(Bf16.FromFloat(v))).ToArray();
            for (var j = 0; j < topk; j++)
            {
                var (gate, up, down) = tensorCoreWeights[chosen[t * topk + j]];
                var g = TensorCoreGemmReference.Multiply(row, gate, 1, inner, hidden);
                var u = TensorCoreGemmReference.Multiply(row, up, 1, inner, hidden);
                var h = g.Select((gv, i) => (double)Bf16.ToFloat(Bf16.FromFloat(KernelSharp.Kernels.Activations.SwiGluKernels.Silu((float)gv) * (float)u[i]))).ToArray();
                var o = TensorCoreGemmReference.Multiply(h, down, 1, hidden, inner);
                for (var c = 0; c < hidden; c++)
                {
                    expected[t * hidden + c] += mix[t * topk + j] * o[c];
                }
            }
        }

        // Only fp32 summation order (and SwiGLU's exp) separates the two, and where that moves a SwiGLU output across a bf16
        // rounding boundary the row moves by one bf16 step of that element (~1e-3 of the row at most): a few rows may.
        // Skipping that rounding moves every row by ~1e-3; a wrong expert or a slot no tile covers, by ~1.
        var rowDistances = Enumerable.Range(0, rows)
            .Select(t => RelativeDistance(actual[(t * hidden)..((t + 1) * hidden)], expected[(t * hidden)..((t + 1) * hidden)])).ToArray();
        var off = rowDistances.Count(d => d > 1e-4);
        Assert.True(off <= rows / 50 && rowDistances.Max() < 1e-2,
            $"{random}: {format} stacked experts, T={rows}: {off} rows more than 1e-4 from the bf16 pipeline in float64 (worst {rowDistances.Max():E2})");
    }

    /// <summary>The op on both backends: within bf16 distance of the exact one (≤ 2e-2 relative), and not equal to it.</summary>
    private void CompareToExact(KernelBackend kind, RandomData random, string what, Func<IModelBackend, Tensor> op)
    {
        float[] Run(IModelBackend backend)
        {
            using var result = op(backend);
            return backend.Download(result);
        }

        var expected = Run(exact.Get(kind)).Select(v => (double)v).ToArray();
        var distance = RelativeDistance(Run(tensorCores.Get(kind)), expected);
        Assert.True(distance is > Bf16Distance and < 2e-2, $"{random}: {what}: relative distance {distance:E2} from the exact backend (expected bf16 rounding, 1e-4 … 2e-2)");
    }

    /// <summary>‖actual − expected‖ / ‖expected‖.</summary>
    internal static double RelativeDistance(float[] actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double difference = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            difference += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }

        return Math.Sqrt(difference / Math.Max(norm, 1e-300));
    }

    /// <summary>The weight as the tensor-core GEMM multiplies it: bf16 as stored, FP8 decoded times its block scale and rounded to bf16.</summary>
    private static double[] TensorCoreWeight(NativeMatrix weight) => weight.Format == NativeMatrixFormat.Bf16
        ? LinearWeightsReference.DecodeBf16(weight.Values.ToArray<ushort>())
        : LinearWeightsReference.DequantizeFp8(weight.Values.ToArray<byte>(), weight.ScaleInv!, weight.Rows, weight.Columns)
            .Select(v => (double)Bf16.ToFloat(Bf16.FromFloat((float)v))).ToArray();
}
