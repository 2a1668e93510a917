using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.Tests.Linear;
using Xunit;

namespace KernelSharp.Kernels.Tests.Formats;

/// <summary>
/// <see cref="Fp8RowScaledRows"/> (e4m3 codes + one scale per row, the FP8 indexer key cache) against its reference
/// (<see cref="Fp8RowScaledRowsReference"/>): every member called on the host, and the whole-row, strided and warp-row
/// dots through the format-generic GEMVs, on each backend.
/// </summary>
public abstract class Fp8RowScaledRowsTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableFact]
    public void Element_readers_and_the_split_load_match_reference()
    {
        RequireHostMemory();
        const int rows = 5, cols = 24;
        var (codes, scales) = RandomRows(NewRandom(11), rows, cols);
        float[] expected = Fp8RowScaledRowsReference.Dequantize(codes, scales, rows, cols);
        using var c = Upload(codes);
        using var s = Upload(scales);
        Accelerator.Synchronize();
        var format = new Fp8RowScaledRows(c.View, s.View);

        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < cols; col += 4)
            {
                Float4 four = format.Elements4(r, cols, col);
                Float4 split = format.DecodeUnscaled4(format.LoadUnscaled4(r, cols, col));
                float[] fromFour = [four.X, four.Y, four.Z, four.W];
                float[] fromSplit = [split.X, split.Y, split.Z, split.W];
                for (int i = 0; i < 4; i++)
                {
                    float value = expected[r * cols + col + i];
                    Assert.Equal(value, format.Element(r, cols, col + i));
                    Assert.Equal(value, fromFour[i]);
                    Assert.Equal(value, format.RowScaled(r, fromSplit[i])); // the row's scale applied once, after the decode
                }
            }
        }
    }

    [SkippableFact]
    public void Matrix_of_a_stack_reads_its_own_codes_and_scales()
    {
        RequireHostMemory();
        const int matrices = 3, rows = 4, cols = 8;
        var (codes, scales) = RandomRows(NewRandom(12), matrices * rows, cols);
        float[] expected = Fp8RowScaledRowsReference.Dequantize(codes, scales, matrices * rows, cols);
        using var c = Upload(codes);
        using var s = Upload(scales);
        Accelerator.Synchronize();
        var second = new Fp8RowScaledRows(c.View, s.View).Matrix(1, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < cols; col++)
                Assert.Equal(expected[(rows + r) * cols + col], second.Element(r, cols, col));
        }
    }

    [SkippableFact]
    public void A_NaN_code_makes_its_row_dot_NaN()
    {
        RequireHostMemory();
        const int rows = 2, cols = 32;
        var random = NewRandom(13);
        var (codes, scales) = RandomRows(random, rows, cols);
        codes[cols + 5] = 0x7F; // row 1
        float[] input = RandomTensors.Uniform(random, cols);
        using var c = Upload(codes);
        using var s = Upload(scales);
        using var x = Upload(input);
        Accelerator.Synchronize();
        var format = new Fp8RowScaledRows(c.View, s.View);
        Assert.True(float.IsNaN(format.RowDot(1, cols, x.View, 0)), "RowDot");
        Assert.True(float.IsNaN(format.RowDotCpu(1, cols, x.View, 0)), "RowDotCpu");
        Assert.True(float.IsNaN(format.StridedRowDot(1, cols, x.View, 0, 0, 1)), "StridedRowDot");
        Assert.True(float.IsNaN(format.DecodeUnscaled4(format.LoadUnscaled4(1, cols, 4)).Y), "DecodeUnscaled4");
        Assert.False(float.IsNaN(format.RowDot(0, cols, x.View, 0)), "row 0 has no NaN code");
    }

    [SkippableTheory]
    [InlineData(7, 33, 1, 1)]     // ragged rows: the scalar loops
    [InlineData(3, 160, 2, 128)]  // 16-byte chunks and a strided group
    [InlineData(2, 200, 1, 128)]  // 12 chunks and a tail of 8 values
    public void Gemv_matches_reference(int rows, int cols, int batch, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 7919 + cols);
        var (codes, scales) = RandomRows(random, rows, cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.Widen(Fp8RowScaledRowsReference.Dequantize(codes, scales, rows, cols)), rows, cols, input, batch);

        using var c = Upload(codes);
        using var s = Upload(scales);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.Gemv))!, Config(rows, batch, groupSize),
            new Fp8RowScaledRows(c.View, s.View), x.View, y.View, rows, cols, batch, groupSize);

        Tolerance.AssertClose(expected, Download(y), GemvTests.LinearTolerance(cols), "gemv fp8 row-scaled output");
    }

    [SkippableTheory]
    [InlineData(5, 2704, 1, 1, 4, 1)]  // 169 chunks: one unrolled step of 4×32 + a tail
    [InlineData(7, 4096, 2, 4, 4, 4)]  // four rows per warp, columns over 4 warps, a second group
    [InlineData(6, 272, 1, 4, 2, 1)]   // fewer chunks than lanes; the last warp partly past the end
    [InlineData(5, 33, 2, 2, 2, 1)]    // ragged rows: scalar path
    public void Gemv_warp_rows_match_reference(int rows, int cols, int batch, int rowsPerWarp, int chunksInFlight, int warpsPerRow)
    {
        RequireBackend();
        var random = NewRandom(rows * 104729 + cols);
        var (codes, scales) = RandomRows(random, rows, cols);
        float[] input = RandomTensors.Uniform(random, (long)batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.Widen(Fp8RowScaledRowsReference.Dequantize(codes, scales, rows, cols)), rows, cols, input, batch);

        using var c = Upload(codes);
        using var s = Upload(scales);
        using var x = Upload(input);
        using var y = Allocate<float>((long)batch * rows);
        int rowsPerGroup = GemvKernels.WarpsPerGroup / warpsPerRow * rowsPerWarp;
        int items = batch > 1 ? 4 : 1; // a batch walks four items per group (two of them past a batch of 2: read, not stored)
        Launch(typeof(GemvKernels).GetMethod(nameof(GemvKernels.GemvRows))!, Config((rows + rowsPerGroup - 1) / rowsPerGroup, (batch + items - 1) / items, 128),
            new Fp8RowScaledRows(c.View, s.View), x.View, y.View, rows, cols, batch, items, rowsPerWarp, chunksInFlight, warpsPerRow);

        Tolerance.AssertClose(expected, Download(y), GemvTests.LinearTolerance(cols),
            $"gemv rows fp8 row-scaled R={rowsPerWarp} U={chunksInFlight} W={warpsPerRow}");
    }

    /// <summary>Rows quantized the way the indexer's key cache is (<see cref="IndexKeyCacheReference.QuantizeFp8"/>), with
    /// magnitudes that differ from row to row so a wrong row's scale shows.</summary>
    /// <summary>The member tests call the format on the host, which reads device buffers only on the CPU backends.</summary>
    private void RequireHostMemory()
    {
        RequireBackend();
        Skip.If(Backend.Backend is not (TestBackend.FastCpu or TestBackend.IlgpuCpu), "the format's members are called on the host: CPU backends only");
    }

    private static (byte[] Codes, float[] Scales) RandomRows(Random random, int rows, int cols)
    {
        float[] values = RandomTensors.Normal(random, (long)rows * cols);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
                values[r * cols + c] *= 1 + r;
        }
        return IndexKeyCacheReference.QuantizeFp8(values, rows, cols);
    }
}

public sealed class Fp8RowScaledRowsTests_FastCpu(FastCpuBackend b) : Fp8RowScaledRowsTests(b), IClassFixture<FastCpuBackend>;
public sealed class Fp8RowScaledRowsTests_IlgpuCpu(IlgpuCpuBackend b) : Fp8RowScaledRowsTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class Fp8RowScaledRowsTests_Cuda(CudaBackend b) : Fp8RowScaledRowsTests(b), IClassFixture<CudaBackend>;
public sealed class Fp8RowScaledRowsTests_OpenCL(OpenCLBackend b) : Fp8RowScaledRowsTests(b), IClassFixture<OpenCLBackend>;
