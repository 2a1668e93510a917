using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Dsl.Tests;

/// <summary>The portable tensor-core paths (ILGPU CPU accelerator, 32-lane warps) and the CPU combines against a
/// float64 matrix product of one 16×8×16 tile.</summary>
public class TensorCoreTests
{
    /// <summary>fp32 accumulation of 16 exact bf16 products: a few ulps.</summary>
    private const double Fp32Tolerance = 1e-5;

    [Theory]
    [InlineData(1, false)] // shuffle version
    [InlineData(1, true)]  // shared-memory version (the OpenCL one), one round
    [InlineData(8, true)]  // shared-memory version, two rounds of 4 warps
    public void MmaFallbackMatchesFloat64(int warps, bool narrowWarps)
    {
        using var cpu = narrowWarps ? IlgpuCpu.NarrowWarps() : IlgpuCpu.Nvidia32();
        var random = new RandomData();
        var tiles = Enumerable.Range(0, warps).Select(_ => new TileData(random)).ToArray();
        using var a = cpu.Upload(tiles.SelectMany(tile => tile.A).ToArray());
        using var bt = cpu.Upload(tiles.SelectMany(tile => tile.Bt).ToArray());
        using var c = cpu.Upload(tiles.SelectMany(tile => tile.C).ToArray());
        using var d = cpu.Accelerator.Allocate1D<float>(warps * 16 * 8);
        var kernel = cpu.Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(TensorCoreKernels.MmaTile);
        kernel(new KernelConfig(1, 32 * warps), a.View, bt.View, c.View, d.View);
        cpu.Accelerator.Synchronize();
        float[] result = d.GetAsArray1D();
        for (int w = 0; w < warps; w++)
        {
            double error = tiles[w].RelativeError(result[(w * 128)..((w + 1) * 128)]);
            Assert.True(error < Fp32Tolerance, $"seed {random.Seed}, warp {w}: relative error {error}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LdMatrixAndCopyAsyncFallbacksFeedTheMma(bool narrowWarps)
    {
        using var cpu = narrowWarps ? IlgpuCpu.NarrowWarps() : IlgpuCpu.Nvidia32();
        var random = new RandomData();
        var tile = new TileData(random, withAccumulator: false);
        using var a = cpu.Upload(tile.A);
        using var bt = cpu.Upload(tile.Bt);
        using var d = cpu.Accelerator.Allocate1D<float>(16 * 8);
        var kernel = cpu.Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>>(TensorCoreKernels.LdMatrixMmaTile);
        kernel(new KernelConfig(1, 32), a.View, bt.View, d.View);
        cpu.Accelerator.Synchronize();
        double error = tile.RelativeError(d.GetAsArray1D());
        Assert.True(error < Fp32Tolerance, $"seed {random.Seed}: relative error {error}");
    }

    [Fact]
    public void CpuCombineMatchesFloat64()
    {
        var random = new RandomData();
        var tile = new TileData(random);
        var lanes = new MmaBf16Fragments[32];
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane / 4, t = lane % 4;
            var c = new MmaAccumulator(tile.C[g * 8 + 2 * t], tile.C[g * 8 + 2 * t + 1], tile.C[(g + 8) * 8 + 2 * t], tile.C[(g + 8) * 8 + 2 * t + 1]);
            lanes[lane] = new MmaBf16Fragments(
                c,
                MmaTile.Pack(tile.A[g * 16 + 2 * t], tile.A[g * 16 + 2 * t + 1]),
                MmaTile.Pack(tile.A[(g + 8) * 16 + 2 * t], tile.A[(g + 8) * 16 + 2 * t + 1]),
                MmaTile.Pack(tile.A[g * 16 + 2 * t + 8], tile.A[g * 16 + 2 * t + 9]),
                MmaTile.Pack(tile.A[(g + 8) * 16 + 2 * t + 8], tile.A[(g + 8) * 16 + 2 * t + 9]),
                MmaTile.Pack(tile.Bt[g * 16 + 2 * t], tile.Bt[g * 16 + 2 * t + 1]),
                MmaTile.Pack(tile.Bt[g * 16 + 2 * t + 8], tile.Bt[g * 16 + 2 * t + 9]));
        }
        var d = new float[16 * 8];
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane / 4, t = lane % 4;
            MmaAccumulator result = TensorCore.MmaBf16Combine(lanes, lane);
            d[g * 8 + 2 * t] = result.C0;
            d[g * 8 + 2 * t + 1] = result.C1;
            d[(g + 8) * 8 + 2 * t] = result.C2;
            d[(g + 8) * 8 + 2 * t + 1] = result.C3;
        }
        double error = tile.RelativeError(d);
        Assert.True(error < Fp32Tolerance, $"seed {random.Seed}: relative error {error}");
    }

    [Fact]
    public void LdMatrixCombineDistributesRowsLikeTheHardware()
    {
        using var cpu = IlgpuCpu.Nvidia32();
        var random = new RandomData();
        ushort[] data = random.Bf16Values(16 * 16);
        using var tile = cpu.Upload(data);
        var rowOffsets = new int[32];
        for (int lane = 0; lane < 32; lane++)
            rowOffsets[lane] = (lane & 7) * 16 + 8 * (lane >> 3 & 1) + (lane >> 4) * 0; // matrices 0/1: k 0-7 / 8-15
        for (int lane = 0; lane < 32; lane++)
        {
            MatrixFragmentX4 fragment = TensorCore.LdMatrixX4Combine(tile.View, rowOffsets, lane);
            int row = lane / 4, column = 2 * (lane % 4);
            Assert.Equal(MmaTile.Pack(data[row * 16 + column], data[row * 16 + column + 1]), fragment.R0);
            Assert.Equal(MmaTile.Pack(data[row * 16 + 8 + column], data[row * 16 + 9 + column]), fragment.R1);
        }
    }

    [Fact]
    public void MmaCombineRejectsAPartialWarp()
    {
        var error = Assert.Throws<ArgumentException>(() => TensorCore.MmaBf16Combine(new MmaBf16Fragments[16], 0));
        Assert.Contains("all 32 lanes", error.Message);
    }
}
