using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.Model;
using Xunit;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// Weights kept bf16 / FP8 on the kernel backend: Linear (decode GEMV and prefill GEMM), FeedForward and MixExperts
/// with native weights against the fp32 reference backend, which widens the same matrices to fp32 element by element.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class NativeWeightTests(KernelBackendFixture fixture)
{
    private const double Tolerance = 2e-5;

    private readonly CpuBackend cpu = new();

    public static TheoryData<KernelBackend, NativeMatrixFormat> Cases => new()
    {
        { KernelBackend.FastCpu, NativeMatrixFormat.Bf16 },
        { KernelBackend.FastCpu, NativeMatrixFormat.Fp8E4M3 },
        { KernelBackend.IlgpuCpu, NativeMatrixFormat.Bf16 },
        { KernelBackend.IlgpuCpu, NativeMatrixFormat.Fp8E4M3 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Linear_and_feed_forward_with_native_weights_match_fp32(KernelBackend kind, NativeMatrixFormat format) => Check(fixture.Get(kind), format);

    [SkippableFact]
    public void Cuda_linear_and_feed_forward_with_native_weights_match_fp32()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        Check(fixture.Get(KernelBackend.Cuda), NativeMatrixFormat.Bf16);
        Check(fixture.Get(KernelBackend.Cuda), NativeMatrixFormat.Fp8E4M3);
    }

    [Theory]
    [InlineData(Fixtures.Bf16, NativeMatrixFormat.Bf16)]
    [InlineData(Fixtures.Fp8Yarn, NativeMatrixFormat.Fp8E4M3)]
    public void The_loader_keeps_checkpoint_matrices_in_their_format_on_the_kernel_backend(string fixtureName, NativeMatrixFormat expected)
    {
        var directory = Fixtures.Directory(fixtureName);
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        using var checkpoint = Checkpoint.Open(directory, config.Quantization);
        var kernels = fixture.Get(KernelBackend.FastCpu);
        var loader = new WeightLoader(new CheckpointWeightSource(checkpoint), kernels, 1, null);
        const string name = "model.layers.0.self_attn.q_b_proj.weight";
        int rows = config.NumAttentionHeads * (config.QkNopeHeadDim + config.QkRopeHeadDim), columns = config.QLoraRank ?? 0;

        using var native = loader.Matrix(name, rows, columns);
        using var widened = loader.Fp32Matrix(name, rows, columns);
        Assert.Equal(expected, Assert.IsType<KernelWeight>(native, exactMatch: false).Format);
        Assert.IsType<KernelTensor>(widened);

        // The same projection through either copy: the native one must equal the checkpoint's own dequantization.
        var random = new RandomData();
        using var x = kernels.Upload(random.Floats(2 * columns), 2, columns); // [2, q_lora]
        Close(kernels.Download(kernels.Linear(x, widened)), kernels.Download(kernels.Linear(x, native)), $"{random}: {fixtureName} {name}");

        // The generated CPU path gathers embedding rows from the table as stored (read in place): the same rows as fp32.
        const string embedding = "model.embed_tokens.weight";
        using var table = loader.GatherTable(embedding, config.VocabSize, config.HiddenSize);
        using var fp32Table = loader.Fp32Matrix(embedding, config.VocabSize, config.HiddenSize);
        Assert.IsType<KernelWeight>(table, exactMatch: false);
        int[] tokens = [0, config.VocabSize - 1, random.Next(config.VocabSize), 0];
        Assert.Equal(kernels.Download(kernels.GatherRows(fp32Table, tokens)), kernels.Download(kernels.GatherRows(table, tokens)));
    }

    private void Check(KernelModelBackend kernels, NativeMatrixFormat format)
    {
        var random = new RandomData();
        // 136 × 136 and 130: FP8 scale grids with a partial last block on both axes; 136 columns keep 16-byte rows.
        // Small batches: the ILGPU CPU accelerator runs every GPU thread of a group in turn.
        const int outFeatures = 136, inFeatures = 136, inner = 130;
        var weight = RandomMatrix(random, format, outFeatures, inFeatures);
        var gate = RandomMatrix(random, format, inner, inFeatures);
        var up = RandomMatrix(random, format, inner, inFeatures);
        var down = RandomMatrix(random, format, inFeatures, inner);
        foreach (var rows in new[] { 1, 3, KernelModelBackend.GemvMaxRows + 1 }) // GEMV (decode, up to a 64-sequence step) and GEMM (prefill)
        {
            var x = random.Floats(rows * inFeatures); // [rows, in]
            Compare(b => b.Linear(b.Upload(x, rows, inFeatures), b.UploadNative(weight)), kernels, random, $"{format} Linear T={rows}");
            Compare(b => b.FeedForward(b.Upload(x, rows, inFeatures), new FeedForwardWeights(b.UploadNative(gate), b.UploadNative(up), b.UploadNative(down))),
                kernels, random, $"{format} FeedForward T={rows}");
        }

        const int experts = 4;
        var settings = new RouterSettings(Groups: 2, KeptGroups: 1, ExpertsPerToken: 2, NormalizeWeights: true, ScalingFactor: 1.5f);
        var expertWeights = Enumerable.Range(0, experts).Select(_ => (Gate: RandomMatrix(random, format, inner, inFeatures), Up: RandomMatrix(random, format, inner, inFeatures), Down: RandomMatrix(random, format, inFeatures, inner))).ToArray();
        // 3 tokens: 6 slots, the grouped kernels over the stacks; past GroupedMaxSlots: per-expert GEMMs over slices of the stacks.
        foreach (var tokens in new[] { 3, KernelMoe.GroupedMaxSlots / 2 + 1 })
        {
            var logits = random.Floats(tokens * experts, 3f);
            var bias = random.Floats(experts, 0.5f);
            var hidden = random.Floats(tokens * inFeatures);
            ExpertRouting Route(IModelBackend b) => b.RouteExperts(b.Upload(logits, tokens, experts), b.Upload(bias, 1, experts), settings);
            Compare(b => b.MixExperts(b.Upload(hidden, tokens, inFeatures), Route(b),
                expertWeights.Select(w => new FeedForwardWeights(b.UploadNative(w.Gate), b.UploadNative(w.Up), b.UploadNative(w.Down))).ToList()),
                kernels, random, $"{format} MixExperts, separate experts, T={tokens}");
            Compare(b => b.MixExperts(b.Upload(hidden, tokens, inFeatures), Route(b),
                b.UploadExperts(expertWeights.Select(w => w.Gate).ToList(), expertWeights.Select(w => w.Up).ToList(), expertWeights.Select(w => w.Down).ToList())),
                kernels, random, $"{format} MixExperts, stacked experts, T={tokens}");
        }
    }

    [Fact]
    public void Stacked_experts_are_slices_of_one_stack_in_order()
    {
        var random = new RandomData();
        var kernels = fixture.Get(KernelBackend.FastCpu);
        var matrices = Enumerable.Range(0, 3).Select(_ => RandomMatrix(random, NativeMatrixFormat.Bf16, 8, 16)).ToList();
        var downs = Enumerable.Range(0, 3).Select(_ => RandomMatrix(random, NativeMatrixFormat.Bf16, 16, 8)).ToList();
        var experts = kernels.UploadExperts(matrices, matrices, downs);
        var stack = Assert.IsType<KernelWeight<Bf16Rows>>(experts[0].Gate).Stack;
        Assert.NotNull(stack);
        Assert.True(stack.Holds(experts));
        Assert.False(stack.Holds(experts.Reverse().ToList()), "a reordered list must not use the stack (the kernels index it by expert id)");
        Assert.Equal([0, 1, 2], experts.Select(e => ((KernelWeight)e.Down).Expert));
    }

    /// <summary>A random [rows, columns] matrix in <paramref name="format"/> with weights of about ±0.1 (finite FP8 codes only).</summary>
    private static NativeMatrix RandomMatrix(RandomData random, NativeMatrixFormat format, int rows, int columns)
    {
        if (format == NativeMatrixFormat.Bf16)
        {
            return new NativeMatrix(rows, columns, format, random.Floats(rows * columns, 0.1f).Select(Bf16.FromFloat).ToArray(), null);
        }

        var codes = random.Floats(rows * columns, 300f).Select(Fp8E4M3.FromFloat).ToArray(); // ±300: the whole e4m3 range
        var scaleCount = ((rows + 127) / 128) * ((columns + 127) / 128);
        var scales = random.Floats(scaleCount).Select(s => (0.5f + MathF.Abs(s)) / 3000f).ToArray();
        return new NativeMatrix(rows, columns, format, codes, scales);
    }

    private void Compare(Func<IModelBackend, Tensor> op, IModelBackend kernels, RandomData random, string what)
    {
        using var expected = op(cpu);
        using var actual = op(kernels);
        Close(cpu.Download(expected), kernels.Download(actual), $"{random}: {what}");
    }

    private static void Close(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var allowed = Tolerance * Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed, $"{context}: element {i} is {actual[i]}, expected {expected[i]} (±{allowed:E1})");
        }
    }
}
