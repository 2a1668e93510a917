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
/// The tensor-core decode GEMV (<see cref="GemvKernels.TensorCoreGemv{TWeights, TItems}"/>) in bf16 and fp8 against the
/// float64 reference, on shapes that hit each path: row tiles and warps partly past the last row, a second group of
/// rows, k-blocks split into slices (unequal ones, and more slices than k-blocks), FP8 rows crossing a 128-row scale
/// block, batches filling 1, 2 and 4 item tiles partly, and a second group of items. Then the property the runtime
/// relies on: an item's outputs are the same bits alone and in any batch, under every tile and warp choice.
/// </summary>
public abstract class TensorCoreGemvTests(BackendFixture backend) : BackendTestBase(backend)
{
    public static TheoryData<int, int, int, int, int, int, int> Shapes => new()
    {
        // rows, cols, batch, itemTiles, rowTiles, warps, kSlices. Few groups: the ILGPU CPU accelerator runs each lane as a thread.
        { 8, 128, 1, 1, 1, 4, 1 },      // one tile, one k-block (three warps past the rows)
        { 13, 256, 3, 1, 2, 4, 2 },     // the row tile partly past the last row; two slices of one k-block
        { 40, 640, 17, 2, 4, 8, 2 },    // 5 k-blocks in slices of 3 and 2; 17 items over two item tiles; 8 warps
        { 130, 512, 5, 1, 4, 4, 1 },    // rows cross the 128-row scale block: a second group of rows
        { 9, 384, 40, 4, 1, 8, 3 },     // 40 items in 4 tiles (24 rows past the batch: not staged, not stored); 3 slices
        { 20, 256, 70, 4, 2, 4, 1 },    // a second group of items
        { 70, 256, 2, 1, 1, 8, 4 },     // more slices than k-blocks: the empty slices must write zeros
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Bf16_matches_reference(int rows, int cols, int batch, int itemTiles, int rowTiles, int warps, int kSlices)
    {
        RequireBackend();
        SkipLargeOnIlgpuCpu(rows, cols, batch, itemTiles, rowTiles, warps, kSlices);
        var random = NewRandom(Environment.TickCount ^ rows * 31 ^ cols);
        var (weightBits, _) = RandomTensors.Bf16(random, (long)rows * cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DecodeBf16(weightBits), rows, cols, input, batch);

        using var w = Upload(weightBits);
        float[] actual = Run(new Bf16Rows(w.View), input, rows, cols, batch, itemTiles, rowTiles, warps, kSlices);

        Tolerance.AssertClose(expected, actual, GemvTests.LinearTolerance(cols), $"tensor-core gemv bf16 I={itemTiles} R={rowTiles} W={warps} S={kSlices}");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fp8_matches_reference(int rows, int cols, int batch, int itemTiles, int rowTiles, int warps, int kSlices)
    {
        RequireBackend();
        SkipLargeOnIlgpuCpu(rows, cols, batch, itemTiles, rowTiles, warps, kSlices);
        var random = NewRandom(Environment.TickCount ^ rows * 17 ^ cols);
        var (codes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DequantizeFp8(codes, scaleInv, rows, cols), rows, cols, input, batch);

        using var w = Upload(codes);
        using var s = Upload(scaleInv);
        float[] actual = Run(new Fp8BlockRows(w.View, s.View), input, rows, cols, batch, itemTiles, rowTiles, warps, kSlices);

        Tolerance.AssertClose(expected, actual, GemvTests.LinearTolerance(cols), $"tensor-core gemv fp8 I={itemTiles} R={rowTiles} W={warps} S={kSlices}");
    }

    /// <summary>
    /// The hi/lo split keeps what one bf16 rounding of the activations would lose: activations 1 … 1 + 2⁻⁷ (one bf16
    /// step, so bf16 keeps none of their low bits) against weights of ±1. The split's error is at most 2⁻¹⁷ per value
    /// (lo's own rounding), 256 · 2⁻¹⁷ ≈ 2e-3 per output at worst; rounding the activations to bf16 once misses by up to
    /// 2⁻⁸ per value, and the test checks that this data shows it (so the bound means something).
    /// </summary>
    [SkippableFact]
    public void Activations_keep_more_than_bf16_precision()
    {
        RequireBackend();
        const int rows = 8, cols = 256, batch = 2;
        var random = NewRandom(Environment.TickCount);
        var bits = new ushort[rows * cols];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = random.Next(2) == 0 ? (ushort)0x3F80 : (ushort)0xBF80; // ±1
        float[] input = new float[batch * cols];
        for (int i = 0; i < input.Length; i++)
            input[i] = 1f + (float)random.NextDouble() / 128f;
        double[] weights = LinearWeightsReference.DecodeBf16(bits);
        double[] expected = GemvReference.Multiply(weights, rows, cols, input, batch);
        float[] bf16Input = input.Select(v => Dsl.Bf16.ToFloat(Dsl.Bf16.FromFloat(v))).ToArray();
        double[] bf16Only = GemvReference.Multiply(weights, rows, cols, bf16Input, batch);

        using var w = Upload(bits);
        float[] actual = Run(new Bf16Rows(w.View), input, rows, cols, batch, 1, 1, 4, 1);

        const double splitBound = cols / 131072.0 + 1e-4; // 256 · 2⁻¹⁷, plus fp32 sums of ~±20
        double worstBf16 = expected.Zip(bf16Only, (e, b) => Math.Abs(e - b)).Max();
        Assert.True(worstBf16 > 10 * splitBound, $"bf16 activations miss by only {worstBf16}: the data does not separate the two");
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= splitBound, $"output {i}: {actual[i]} vs {expected[i]} (bf16 activations: {bf16Only[i]})");
    }

    /// <summary>The split kernel writes, for each 4 values, [hi(0,1), hi(2,3), lo(0,1), lo(2,3)] of <see cref="TensorCoreGemvTiles.SplitPair"/>.</summary>
    [SkippableFact]
    public void Split_writes_hi_and_lo_words_per_four_values()
    {
        RequireBackend();
        var random = NewRandom(Environment.TickCount);
        float[] values = RandomTensors.Uniform(random, 1028);
        values[5] = float.NaN;
        values[6] = 3e38f; // rounds to bf16 infinity: lo is then −∞
        using var split = Split(values);
        uint[] words = Download(split);
        for (int run = 0; run < values.Length / 4; run++)
        {
            var (hi0, lo0) = TensorCoreGemvTiles.SplitPair(values[4 * run], values[4 * run + 1]);
            var (hi1, lo1) = TensorCoreGemvTiles.SplitPair(values[4 * run + 2], values[4 * run + 3]);
            uint[] expected = [hi0, hi1, lo0, lo1];
            for (int w = 0; w < 4; w++)
            {
                for (int shift = 0; shift <= 16; shift += 16)
                {
                    ushort want = (ushort)(expected[w] >> shift), got = (ushort)(words[4 * run + w] >> shift);
                    Assert.True(want == got || IsBf16NaN(want) && IsBf16NaN(got), $"run {run}, word {w}, half {shift / 16}: {got:X4}, expected {want:X4}");
                }
            }
        }
    }

    /// <summary>NaN − NaN (lo of a NaN) is a NaN whose sign and payload differ between x86 and a GPU: any NaN will do.</summary>
    private static bool IsBf16NaN(ushort bits) => (bits & 0x7F80) == 0x7F80 && (bits & 0x007F) != 0;

    /// <summary>A NaN code (0x7F or 0xFF) makes exactly its row's outputs NaN, for every item, though the kernel decodes
    /// without a per-value NaN test.</summary>
    [SkippableTheory]
    [InlineData(0x7F, 1, 4, 1)]
    [InlineData(0xFF, 4, 8, 2)]
    public void Fp8_NaN_code_reaches_its_row_only(int nanCode, int rowTiles, int warps, int kSlices)
    {
        RequireBackend();
        const int rows = 16, cols = 512, batch = 3;
        var random = NewRandom(Environment.TickCount);
        var (codes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
        int nanRow = random.Next(rows);
        codes[(long)nanRow * cols + random.Next(cols)] = (byte)nanCode;
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);

        using var w = Upload(codes);
        using var s = Upload(scaleInv);
        float[] actual = Run(new Fp8BlockRows(w.View, s.View), input, rows, cols, batch, 1, rowTiles, warps, kSlices);

        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                Assert.True(float.IsNaN(actual[b * rows + r]) == (r == nanRow), $"item {b} row {r} = {actual[b * rows + r]} (NaN planted in row {nanRow})");
    }

    /// <summary>
    /// The runtime picks itemTiles from the batch and the autotuner rowTiles per shape: an item's outputs must be the
    /// same bits whatever both are and whichever items share its launch, so a sequence's tokens do not depend on the
    /// batch it decodes in.
    /// </summary>
    [SkippableTheory]
    [InlineData("bf16")]
    [InlineData("fp8")]
    public void An_items_sums_do_not_depend_on_its_batch_or_tiles(string format)
    {
        RequireBackend();
        SkipLargeOnIlgpuCpu(24, 640, 20, 4, 4, 4, 2);
        const int rows = 24, cols = 640, batch = 20, kSlices = 2;
        var random = NewRandom(Environment.TickCount);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        void Compare<TWeights>(TWeights weights) where TWeights : struct, ITensorCoreRows<TWeights>
        {
            float[] all = Run(weights, input, rows, cols, batch, 2, 1, 4, kSlices);
            Assert.Equal(all, Run(weights, input, rows, cols, batch, 4, 4, 8, kSlices));
            Assert.Equal(all, Run(weights, input, rows, cols, batch, 1, 2, 4, kSlices));
            foreach (int item in new[] { 0, 7, 19 })
            {
                float[] alone = Run(weights, input.AsSpan(item * cols, cols).ToArray(), rows, cols, 1, 1, 4, 8, kSlices);
                Assert.Equal(all.AsSpan(item * rows, rows).ToArray(), alone);
            }
        }

        if (format == "bf16")
        {
            using var w = Upload(RandomTensors.Bf16(random, (long)rows * cols).Bits);
            Compare(new Bf16Rows(w.View));
        }
        else
        {
            var (codes, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, rows, cols);
            using var w = Upload(codes);
            using var s = Upload(scaleInv);
            Compare(new Fp8BlockRows(w.View, s.View));
        }
    }

    /// <summary>
    /// The routed experts' form: groups of slots of one expert (a slot's row is its token's row, or its own) times that
    /// expert's matrix of a stack; groups past the last get −1 and leave. Each slot's outputs equal the dense batch
    /// GEMV's for the same row and matrix, bit for bit, so a token's expert sums do not depend on the slots grouped with it.
    /// </summary>
    [SkippableTheory]
    [InlineData("bf16", true)]
    [InlineData("fp8", false)]
    public void Expert_slots_match_the_batch_form_of_their_expert(string format, bool tokenRows)
    {
        RequireBackend();
        Skip.If(Backend.Backend == TestBackend.IlgpuCpu, "eighteen launches: FastCpu and CUDA run it (the ILGPU CPU accelerator runs the kernel's small cases)");
        const int experts = 3, rows = 16, cols = 256, topk = 2, tokens = 5, slotCount = tokens * topk;
        var random = NewRandom(Environment.TickCount);
        // Slots sorted by expert: expert 0 has 3 slots, expert 1 none, expert 2 the other 7 (two groups of up to 16? one).
        int[] slotExperts = [0, 0, 0, 2, 2, 2, 2, 2, 2, 2];
        int[] pairs = Enumerable.Range(0, slotCount).OrderBy(_ => random.Next()).ToArray(); // slot → token·topk + k
        int[] groupFirst = [0, 3, -1, -1];
        int[] groupEnd = [3, slotCount, -1, -1];
        int inputRows = tokenRows ? tokens : slotCount;
        float[] input = RandomTensors.Uniform(random, (long)inputRows * cols);

        using var first = Upload(groupFirst);
        using var end = Upload(groupEnd);
        using var owners = Upload(slotExperts);
        using var pairView = Upload(pairs);
        using var x = Split(input);
        using var y = Allocate<float>((long)slotCount * rows);
        float[] Expected<TWeights>(TWeights stack) where TWeights : struct, ITensorCoreRows<TWeights>
        {
            var expected = new float[slotCount * rows];
            for (int slot = 0; slot < slotCount; slot++)
            {
                int row = tokenRows ? pairs[slot] / topk : slot;
                float[] alone = Run(stack.Matrix(slotExperts[slot], rows, cols), input.AsSpan(row * cols, cols).ToArray(), rows, cols, 1, 1, 1, 4, 1);
                alone.CopyTo(expected, slot * rows);
            }
            return expected;
        }
        void Check<TWeights>(TWeights stack) where TWeights : struct, ITensorCoreRows<TWeights>
        {
            var items = new ExpertSlotItems(first.View, end.View, owners.View, tokenRows ? pairView.View : default, topk);
            Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.TensorCoreGemv))!, Config(1, groupFirst.Length, 128),
                stack, items, x.View, y.View, rows, cols, groupFirst.Length, 1, 0L, 1, 1, 4);
            Assert.Equal(Expected(stack), Download(y));
        }

        if (format == "bf16")
        {
            using var w = Upload(RandomTensors.Bf16(random, (long)experts * rows * cols).Bits);
            Check(new Bf16Rows(w.View));
        }
        else
        {
            var stacked = Enumerable.Range(0, experts).Select(_ => RandomTensors.Fp8BlockScaled(random, rows, cols)).ToArray();
            using var w = Upload(stacked.SelectMany(m => m.Item1).ToArray());
            using var s = Upload(stacked.SelectMany(m => m.Item2).ToArray());
            Check(new Fp8BlockRows(w.View, s.View));
        }
    }

    /// <summary>
    /// The ILGPU CPU accelerator runs each lane as a thread and every mma as 32 lanes' shuffles, about 0.8 s per
    /// (group, k-block, item tile, row tile, 4 warps) on a 2-core machine: it runs the cases of at most 8 of those (one
    /// tile of each kind, a batch over four item tiles, the NaN and precision cases); FastCpu and CUDA run all.
    /// </summary>
    private void SkipLargeOnIlgpuCpu(int rows, int cols, int batch, int itemTiles, int rowTiles, int warps, int kSlices)
    {
        long groups = (long)((rows + 8 * rowTiles * warps - 1) / (8 * rowTiles * warps)) * ((batch + 16 * itemTiles - 1) / (16 * itemTiles)) * kSlices;
        long blocks = (cols / 128 + kSlices - 1) / kSlices;
        Skip.If(Backend.Backend == TestBackend.IlgpuCpu && groups * blocks * itemTiles * rowTiles * warps / 4 > 8,
            "the ILGPU CPU accelerator runs the small cases only (FastCpu and CUDA run all)");
    }

    /// <summary>The GEMV as the runtime launches it: the kernel into kSlices partial outputs, then their sum when there are several.</summary>
    private float[] Run<TWeights>(TWeights weights, float[] input, int rows, int cols, int batch, int itemTiles, int rowTiles, int warps, int kSlices)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        using var x = Split(input);
        int outputs = batch * rows;
        using var y = Allocate<float>((long)kSlices * outputs);
        int groups = (batch + 16 * itemTiles - 1) / (16 * itemTiles);
        int rowGroups = (rows + 8 * rowTiles * warps - 1) / (8 * rowTiles * warps);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.TensorCoreGemv))!, Config(rowGroups, groups * kSlices, 32 * warps),
            weights, new BatchItems(batch), x.View, y.View, rows, cols, groups, kSlices, (long)outputs, itemTiles, rowTiles, warps);
        if (kSlices == 1)
            return Download(y);
        using var sum = Allocate<float>(outputs);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.SumKSlices))!, Config((outputs + 255) / 256, 1, 256), y.View, sum.View, outputs, kSlices);
        return Download(sum);
    }

    /// <summary>The activations as the GEMV reads them: <see cref="GemvKernels.SplitToBf16Pairs"/> on this backend.</summary>
    private MemoryBuffer1D<uint, Stride1D.Dense> Split(float[] values)
    {
        using var x = Upload(values);
        var split = Allocate<uint>(values.Length);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.SplitToBf16Pairs))!, Config((values.Length / 4 + 255) / 256, 1, 256),
            x.View, split.View, values.Length);
        return split;
    }
}

public sealed class TensorCoreGemvTests_FastCpu(FastCpuBackend b) : TensorCoreGemvTests(b), IClassFixture<FastCpuBackend>;
public sealed class TensorCoreGemvTests_IlgpuCpu(IlgpuCpuBackend b) : TensorCoreGemvTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class TensorCoreGemvTests_Cuda(CudaBackend b) : TensorCoreGemvTests(b), IClassFixture<CudaBackend>;
public sealed class TensorCoreGemvTests_OpenCL(OpenCLBackend b) : TensorCoreGemvTests(b), IClassFixture<OpenCLBackend>;

/// <summary>The generated launchers of the tensor-core GEMV and the k-slice sum: FastCpu runs their CPU paths; on CUDA the
/// autotuner times the six rowTiles × warps variants first, so this also checks that each loads and agrees.</summary>
public sealed class TensorCoreGemvLauncherTests
{
    static TensorCoreGemvLauncherTests()
    {
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE",
            Path.Combine(Path.GetTempPath(), $"ks-kernels-tests-autotune-{Environment.ProcessId}.json"));
    }

    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, 3, 1)]
    [InlineData(KernelBackend.Cuda, 1, 1)]
    [InlineData(KernelBackend.Cuda, 37, 4)]
    public void Launcher_matches_reference(KernelBackend backend, int batch, int itemTiles)
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
        using var split = device.Allocate<uint>(input.Length);
        GemvKernels.LaunchSplitToBf16Pairs(device, x.View, split.View, input.Length);
        using var y = device.Allocate<float>(batch * rows);

        var bf16 = new Bf16Rows(wBf16.View);
        Assert.True(bf16.TensorCoreReadable(cols));
        GemvKernels.LaunchTensorCoreGemv(device, bf16, new BatchItems(batch), split.View, y.View, rows, cols, Groups(batch, itemTiles), 1, 0, itemTiles);
        device.Synchronize();
        Tolerance.AssertClose(GemvReference.Multiply(LinearWeightsReference.DecodeBf16(bits), rows, cols, input, batch),
            y.GetAsArray1D(), GemvTests.LinearTolerance(cols), $"LaunchTensorCoreGemv bf16 on {backend}");

        var fp8Rows = new Fp8BlockRows(wFp8.View, s.View);
        Assert.True(fp8Rows.TensorCoreReadable(cols));
        // As a decode step launches it: item tiles from the batch, and this shape's 8 k-slices, then their sum.
        Assert.Equal(8, GemvKernels.TensorCoreGemvKSlices(rows, cols));
        using var slices = device.Allocate<float>(8L * batch * rows);
        GemvKernels.LaunchTensorCoreGemvBatch(device, fp8Rows, batch, split.View, slices.View, y.View, rows, cols);
        device.Synchronize();
        Tolerance.AssertClose(GemvReference.Multiply(LinearWeightsReference.DequantizeFp8(fp8, scaleInv, rows, cols), rows, cols, input, batch),
            y.GetAsArray1D(), GemvTests.LinearTolerance(cols), $"LaunchTensorCoreGemv fp8 on {backend}");

        Assert.False(bf16.TensorCoreReadable(1000)); // not a multiple of 128 columns
        Assert.False(new Bf16Rows(wBf16.View.SubView(4, 2048)).TensorCoreReadable(1024)); // 8 bytes off a 16-byte boundary
    }

    private static int Groups(int batch, int itemTiles) => (batch + 16 * itemTiles - 1) / (16 * itemTiles);

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
