using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// The warp-per-rows GEMV (<see cref="GemvKernels.GemvRows{TWeights}"/>) in fp32, bf16 and fp8 against the
/// float64 reference for every (rowsPerWarp, chunksInFlight) variant on shapes that hit each path: whole unrolled
/// steps plus a tail of single chunks, fewer chunks than lanes, row counts that leave a warp partly or wholly past
/// the last row, rows crossing a 128-row scale block, ragged/unaligned rows (scalar path), batches.
/// </summary>
public abstract class GemvWarpRowsTests(BackendFixture backend) : BackendTestBase(backend)
{
    private const int GroupSize = 128;

    public static TheoryData<int, int, int, int, int, int, int> Shapes => new()
    {
        // rows, cols, batch, itemsPerWarp, rowsPerWarp, chunksInFlight, warpsPerRow. Few groups: the ILGPU CPU accelerator runs each lane as a thread.
        { 1, 16, 1, 1, 1, 2, 1 },
        { 1, 16, 1, 1, 1, 2, 4 },
        { 5, 2704, 1, 1, 1, 4, 1 },   // fp8: 169 chunks = one step of 4×32 + a tail of 41; bf16: 338 chunks
        { 5, 2704, 1, 1, 2, 2, 4 },   // 4 warps split the columns: steps of 2×128 chunks + tail
        { 5, 2704, 2, 1, 2, 2, 1 },
        { 7, 2704, 1, 1, 4, 4, 1 },
        { 7, 4096, 2, 1, 4, 4, 4 },   // rows 4..7 in a second group
        { 3, 2048, 3, 1, 2, 4, 1 },   // batch 3; fp8 exactly one unrolled step
        { 6, 272, 1, 1, 4, 2, 1 },    // fewer chunks than lanes; last warp partly past the end
        { 131, 48, 1, 1, 4, 2, 1 },   // rows cross the 128-row scale block; 9 groups
        { 130, 64, 1, 1, 4, 2, 4 },   // the same with the group on one row set: 33 groups
        { 5, 33, 2, 1, 2, 2, 1 },     // ragged rows: scalar path
        { 3, 100, 2, 1, 1, 2, 4 },    // misaligned rows (100 % 8 ≠ 0): scalar path, columns split over 4 warps
        { 7, 2704, 4, 4, 4, 4, 1 },   // four items per weight load: exactly one item group
        { 5, 2048, 6, 4, 2, 2, 4 },   // a second item group with two items past the batch (read, not stored)
        { 9, 272, 5, 4, 1, 2, 1 },    // one item in the last group; fewer chunks than lanes
        { 5, 33, 7, 4, 2, 2, 1 },     // ragged rows with items: scalar path per item
        { 3, 100, 3, 4, 4, 4, 4 },    // misaligned rows: scalar path, one partly filled item group
        { 6, 1024, 3, 2, 2, 2, 1 },   // two items per group (the generic variant of the item count)
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void F32_rows_match_reference(int rows, int cols, int batch, int items, int rowsPerWarp, int chunksInFlight, int warpsPerRow)
    {
        RequireBackend();
        var random = NewRandom(Environment.TickCount ^ rows * 17 ^ cols);
        float[] weight = RandomTensors.Uniform(random, (long)rows * cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.Widen(weight), rows, cols, input, batch);

        using var w = Upload(weight);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.GemvRows))!, Config(Groups(rows, rowsPerWarp, warpsPerRow), (batch + items - 1) / items, GroupSize),
            new F32Rows(w.View), x.View, y.View, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);

        Tolerance.AssertClose(expected, Download(y), GemvTests.LinearTolerance(cols), $"gemv f32 rows B={items} R={rowsPerWarp} U={chunksInFlight} W={warpsPerRow}");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Bf16_rows_match_reference(int rows, int cols, int batch, int items, int rowsPerWarp, int chunksInFlight, int warpsPerRow)
    {
        RequireBackend();
        var random = NewRandom(Environment.TickCount ^ rows * 31 ^ cols);
        var (weightBits, _) = RandomTensors.Bf16(random, (long)rows * cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DecodeBf16(weightBits), rows, cols, input, batch);

        using var w = Upload(weightBits);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.GemvRows))!, Config(Groups(rows, rowsPerWarp, warpsPerRow), (batch + items - 1) / items, GroupSize),
            new Bf16Rows(w.View), x.View, y.View, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);

        Tolerance.AssertClose(expected, Download(y), GemvTests.LinearTolerance(cols), $"gemv bf16 rows B={items} R={rowsPerWarp} U={chunksInFlight} W={warpsPerRow}");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fp8_rows_match_reference(int rows, int cols, int batch, int items, int rowsPerWarp, int chunksInFlight, int warpsPerRow)
    {
        RequireBackend();
        var random = NewRandom(Environment.TickCount ^ rows * 17 ^ cols);
        var (weightBytes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DequantizeFp8(weightBytes, scaleInv, rows, cols), rows, cols, input, batch);

        float[] actual = RunFp8(weightBytes, scaleInv, input, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);

        Tolerance.AssertClose(expected, actual, GemvTests.LinearTolerance(cols), $"gemv fp8 rows B={items} R={rowsPerWarp} U={chunksInFlight} W={warpsPerRow}");
    }

    /// <summary>A NaN code (0x7F or 0xFF) in a row makes exactly that row's output NaN, as the reference's NaN·x does,
    /// though the fast path decodes without a per-value NaN test.</summary>
    [SkippableTheory]
    [InlineData(0x7F, 1, 2, 4, 1)]
    [InlineData(0xFF, 1, 4, 2, 4)]
    [InlineData(0x7F, 4, 2, 2, 1)]
    public void Fp8_rows_propagate_a_NaN_code_to_its_row_only(int nanCode, int items, int rowsPerWarp, int chunksInFlight, int warpsPerRow)
    {
        RequireBackend();
        const int rows = 8, cols = 2048;
        int batch = items == 1 ? 1 : 3;
        var random = NewRandom(Environment.TickCount);
        var (weightBytes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
        int nanRow = random.Next(rows);
        weightBytes[(long)nanRow * cols + random.Next(cols)] = (byte)nanCode;
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);

        float[] actual = RunFp8(weightBytes, scaleInv, input, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);

        for (int r = 0; r < rows; r++)
            Assert.True(float.IsNaN(actual[r]) == (r == nanRow), $"row {r} = {actual[r]} (NaN planted in row {nanRow})");
    }

    /// <summary>
    /// The runtime walks a batch 4 items at a time and a single sequence 1 at a time: an item's outputs must be the same
    /// bits either way, and whatever the tuned rowsPerWarp and chunksInFlight (only warpsPerRow, which is tuned per shape
    /// and shared by both item counts, decides which lane adds which chunk), so a sequence's tokens do not depend on the
    /// batch it decodes in.
    /// </summary>
    [SkippableTheory]
    [InlineData("f32", 2704, 1)]
    [InlineData("bf16", 2704, 1)]
    [InlineData("fp8", 2704, 1)]
    [InlineData("bf16", 4096, 4)]
    [InlineData("fp8", 4096, 4)]
    [InlineData("bf16", 100, 4)] // misaligned rows: the scalar path
    public void An_items_sums_do_not_depend_on_the_items_walked_with_it(string format, int cols, int warpsPerRow)
    {
        RequireBackend();
        const int rows = 9, batch = 6;
        var random = NewRandom(Environment.TickCount ^ cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        using var x = Upload(input);
        float[] Run<TWeights>(TWeights weights, int items, int rowsPerWarp, int chunksInFlight) where TWeights : struct, IRowFormat<TWeights>
        {
            using var y = Allocate<float>((long)batch * rows);
            Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.GemvRows))!,
                Config(Groups(rows, rowsPerWarp, warpsPerRow), (batch + items - 1) / items, GroupSize),
                weights, x.View, y.View, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);
            return Download(y);
        }
        float[] Compare<TWeights>(TWeights weights) where TWeights : struct, IRowFormat<TWeights>
        {
            float[] alone = Run(weights, 1, 1, 2);
            Assert.Equal(alone, Run(weights, 4, 1, 2));
            Assert.Equal(alone, Run(weights, 4, 4, 4));
            Assert.Equal(alone, Run(weights, 1, 2, 4));
            return alone;
        }

        switch (format)
        {
            case "f32":
                using (var w = Upload(RandomTensors.Uniform(random, (long)rows * cols)))
                    Compare(new F32Rows(w.View));
                break;
            case "bf16":
                using (var w = Upload(RandomTensors.Bf16(random, (long)rows * cols).Bits))
                    Compare(new Bf16Rows(w.View));
                break;
            default:
                var (codes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
                using (var w = Upload(codes))
                using (var s = Upload(scaleInv))
                    Compare(new Fp8BlockRows(w.View, s.View));
                break;
        }
    }

    private float[] RunFp8(byte[] weightBytes, float[] scaleInv, float[] input, int rows, int cols, int batch, int items, int rowsPerWarp, int chunksInFlight, int warpsPerRow)
    {
        using var w = Upload(weightBytes);
        using var s = Upload(scaleInv);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.GemvRows))!, Config(Groups(rows, rowsPerWarp, warpsPerRow), (batch + items - 1) / items, GroupSize),
            new Fp8BlockRows(w.View, s.View), x.View, y.View, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);
        return Download(y);
    }

    /// <summary>Groups of 4 warps, each set of warpsPerRow warps on rowsPerWarp rows (the kernels' Grid expression).</summary>
    private static int Groups(int rows, int rowsPerWarp, int warpsPerRow)
    {
        int rowsPerGroup = GemvKernels.WarpsPerGroup / warpsPerRow * rowsPerWarp;
        return (rows + rowsPerGroup - 1) / rowsPerGroup;
    }
}

public sealed class GemvWarpRowsTests_FastCpu(FastCpuBackend b) : GemvWarpRowsTests(b), IClassFixture<FastCpuBackend>;
public sealed class GemvWarpRowsTests_IlgpuCpu(IlgpuCpuBackend b) : GemvWarpRowsTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class GemvWarpRowsTests_Cuda(CudaBackend b) : GemvWarpRowsTests(b), IClassFixture<CudaBackend>;
public sealed class GemvWarpRowsTests_OpenCL(OpenCLBackend b) : GemvWarpRowsTests(b), IClassFixture<OpenCLBackend>;

/// <summary>
/// The generated launchers of the warp-per-rows GEMV: FastCpu runs the first variant's CPU path; on CUDA the autotuner
/// times all twelve (rowsPerWarp, chunksInFlight, warpsPerRow) variants first, so this also checks that every one loads and agrees.
/// </summary>
public sealed class GemvWarpRowsLauncherTests
{
    static GemvWarpRowsLauncherTests()
    {
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE",
            Path.Combine(Path.GetTempPath(), $"ks-kernels-tests-autotune-{Environment.ProcessId}.json"));
    }

    public static TheoryData<KernelBackend, int, int> Backends => new()
    {
        { KernelBackend.FastCpu, 2, 1 }, { KernelBackend.FastCpu, 6, 4 }, { KernelBackend.Cuda, 2, 1 }, { KernelBackend.Cuda, 6, 4 },
    };

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public void Launchers_match_reference(KernelBackend backend, int batch, int items)
    {
        using var device = Open(backend);
        const int rows = 300, cols = 1024;
        var random = new Random(Environment.TickCount);
        var (bits, _) = RandomTensors.Bf16(random, rows * cols);
        var (fp8, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
        float[] input = RandomTensors.Uniform(random, batch * cols);

        using var wBf16 = device.Allocate<ushort>(bits.Length);
        wBf16.View.CopyFromCPU(bits);
        using var wFp8 = device.Allocate<byte>(fp8.Length);
        wFp8.View.CopyFromCPU(fp8);
        using var s = device.Allocate<float>(scaleInv.Length);
        s.View.CopyFromCPU(scaleInv);
        using var x = device.Allocate<float>(input.Length);
        x.View.CopyFromCPU(input);
        using var y = device.Allocate<float>(batch * rows);

        using var wF32 = device.Allocate<float>(rows * cols);
        float[] weights = LinearWeightsReference.DecodeBf16(bits).Select(v => (float)v).ToArray();
        wF32.View.CopyFromCPU(weights);
        GemvKernels.LaunchGemvRows(device, new F32Rows(wF32.View), x.View, y.View, rows, cols, batch, items);
        device.Synchronize();
        Tolerance.AssertClose(GemvReference.Multiply(LinearWeightsReference.Widen(weights), rows, cols, input, batch),
            y.GetAsArray1D(), GemvTests.LinearTolerance(cols), $"LaunchGemvRows f32 on {backend}");

        GemvKernels.LaunchGemvRows(device, new Bf16Rows(wBf16.View), x.View, y.View, rows, cols, batch, items);
        device.Synchronize();
        Tolerance.AssertClose(GemvReference.Multiply(LinearWeightsReference.DecodeBf16(bits), rows, cols, input, batch),
            y.GetAsArray1D(), GemvTests.LinearTolerance(cols), $"LaunchGemvRows bf16 on {backend}");

        GemvKernels.LaunchGemvRows(device, new Fp8BlockRows(wFp8.View, s.View), x.View, y.View, rows, cols, batch, items);
        device.Synchronize();
        Tolerance.AssertClose(GemvReference.Multiply(LinearWeightsReference.DequantizeFp8(fp8, scaleInv, rows, cols), rows, cols, input, batch),
            y.GetAsArray1D(), GemvTests.LinearTolerance(cols), $"LaunchGemvRows fp8 on {backend}");
    }

    private static KernelDevice Open(KernelBackend backend)
    {
        try
        {
            return KernelDevice.Create(backend);
        }
        catch (Exception e) when (backend is KernelBackend.Cuda)
        {
            Skip.If(true, $"{backend} unavailable: {e.Message}");
            throw;
        }
    }
}
