using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>GEMV in fp32, bf16 and block-scaled fp8 against a float64 reference, both group shapes, awkward sizes.</summary>
public abstract class GemvTests(BackendFixture backend) : BackendTestBase(backend)
{
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        // rows, cols, batch, groupSize
        // The group-of-128 shapes keep the group count small: ILGPU's CPU accelerator runs each simulated lane
        // as an OS thread and its barriers are slow on a small machine.
        { 1, 1, 1, 1 },
        { 1, 1, 1, 128 },
        { 7, 33, 1, 1 },
        { 3, 33, 2, 128 },
        { 130, 260, 3, 1 },
        { 2, 260, 3, 128 },
        { 3, 1030, 1, 128 },
        { 5, 100, 9, 1 }, // the host form's item blocks: two of 4 and one of 1
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void F32_matches_reference(int rows, int cols, int batch, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 7919 + cols);
        float[] weight = RandomTensors.Uniform(random, (long)rows * cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.Widen(weight), rows, cols, input, batch);

        using var w = Upload(weight);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.Gemv))!, Config(rows, batch, groupSize),
            new F32Rows(w.View), x.View, y.View, rows, cols, batch, groupSize);

        Tolerance.AssertClose(expected, Download(y), LinearTolerance(cols), "gemv f32 output");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Bf16_matches_reference(int rows, int cols, int batch, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 104729 + cols);
        var (weightBits, _) = RandomTensors.Bf16(random, (long)rows * cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DecodeBf16(weightBits), rows, cols, input, batch);

        using var w = Upload(weightBits);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.Gemv))!, Config(rows, batch, groupSize),
            new Bf16Rows(w.View), x.View, y.View, rows, cols, batch, groupSize);

        Tolerance.AssertClose(expected, Download(y), LinearTolerance(cols), "gemv bf16 output");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fp8_block_scaled_matches_reference(int rows, int cols, int batch, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 15485863 + cols);
        var (weightBytes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DequantizeFp8(weightBytes, scaleInv, rows, cols), rows, cols, input, batch);

        using var w = Upload(weightBytes);
        using var s = Upload(scaleInv);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.Gemv))!, Config(rows, batch, groupSize),
            new Fp8BlockRows(w.View, s.View), x.View, y.View, rows, cols, batch, groupSize);

        Tolerance.AssertClose(expected, Download(y), LinearTolerance(cols), "gemv fp8 output");
    }

    /// <summary>
    /// Batch invariance, which serving needs (a sequence's tokens must not depend on what else is in the batch): an item's
    /// outputs are the same bits whether it is multiplied alone or as item 6 of 9, whatever the format. The host form walks
    /// items in blocks of four sharing each weight load, so this pins that the block changes nothing. 384 columns (whole
    /// 64s and 128-blocks) is where an FP8 item alone is decoded in registers instead of through a widened row, and bf16 rows
    /// alone go through the loop in pairs.
    /// </summary>
    [SkippableTheory]
    [InlineData("f32", 300)]
    [InlineData("bf16", 300)]
    [InlineData("bf16", 384)]
    [InlineData("fp8", 300)]
    [InlineData("fp8", 384)]
    public void An_items_outputs_do_not_depend_on_the_batch_around_it(string format, int cols)
    {
        RequireBackend();
        const int rows = 7, batch = 9, item = 6; // an odd row count: the decode form takes rows in pairs
        var random = NewRandom(cols + format.Length);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        float[] alone = input.AsSpan(item * cols, cols).ToArray();
        using var x = Upload(input);
        using var xAlone = Upload(alone);
        using var y = Allocate<float>((long)batch * rows);
        using var yAlone = Allocate<float>(rows);
        var gemv = typeof(GemvKernels).GetMethod(nameof(GemvKernels.Gemv))!;
        void Run(object weights)
        {
            Launch(gemv, Config(rows, batch, 1), weights, x.View, y.View, rows, cols, batch, 1);
            Launch(gemv, Config(rows, 1, 1), weights, xAlone.View, yAlone.View, rows, cols, 1, 1);
        }

        switch (format)
        {
            case "f32":
            {
                using var w = Upload(RandomTensors.Uniform(random, (long)rows * cols));
                Run(new F32Rows(w.View));
                break;
            }
            case "bf16":
            {
                using var w = Upload(RandomTensors.Bf16(random, (long)rows * cols).Item1);
                Run(new Bf16Rows(w.View));
                break;
            }
            default:
            {
                var (codes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
                using var w = Upload(codes);
                using var s = Upload(scaleInv);
                Run(new Fp8BlockRows(w.View, s.View));
                break;
            }
        }

        Assert.Equal(Download(yAlone), Download(y).AsSpan(item * rows, rows).ToArray());
    }

    /// <summary>fp32 accumulation of n products of magnitude ≤ 1: error grows roughly with √n·ε·n in the worst case; 1e-6·n bounds it.</summary>
    internal static Tolerance LinearTolerance(int n) => new(1e-4, 1e-6 * n + 1e-6);
}

public sealed class GemvTests_FastCpu(FastCpuBackend b) : GemvTests(b), IClassFixture<FastCpuBackend>;
public sealed class GemvTests_IlgpuCpu(IlgpuCpuBackend b) : GemvTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class GemvTests_Cuda(CudaBackend b) : GemvTests(b), IClassFixture<CudaBackend>;
public sealed class GemvTests_OpenCL(OpenCLBackend b) : GemvTests(b), IClassFixture<OpenCLBackend>;
