using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Dsl.Tests;

/// <summary>KsVector's kernel bodies (on the ILGPU CPU accelerator) and CPU bodies against plain loops, at aligned
/// and unaligned starts and lengths that are not multiples of the vector width.</summary>
public class KsVectorTests
{
    private const int Length = 1000;

    /// <summary>One thread per case; each case uses its own start offset so aligned and unaligned paths both run.</summary>
    private static void VectorKernel(
        ArrayView<float> a,       // [Length + 16]
        ArrayView<float> b,       // [Length + 16]
        ArrayView<ushort> aBf16,  // [Length + 16]
        ArrayView<int> starts,    // [cases]
        ArrayView<int> lengths,   // [cases]
        ArrayView<float> scalars, // [cases · 4]: dot, dotBf16, sumOfSquares, max
        ArrayView<float> scaled,  // [cases · (Length + 16)]
        ArrayView<float> product) // [cases · (Length + 16)]
    {
        int c = Grid.GlobalIndex.X;
        if (c >= starts.Length)
            return;
        int start = starts[c];
        int bStart = start + BShift(c);
        int length = lengths[c];
        scalars[4 * c] = KsVector.Dot(a, start, b, bStart, length);
        scalars[4 * c + 1] = KsVector.DotBf16(aBf16, start, b, bStart, length);
        scalars[4 * c + 2] = KsVector.SumOfSquares(a, start, length);
        scalars[4 * c + 3] = KsVector.Max(a, start, length);
        long outStart = (long)c * (Length + 16) + start;
        KsVector.Scale(a, start, scaled, outStart, length, 0.5f);
        KsVector.MultiplyScale(a, start, b, bStart, product, outStart, length, 3f);
    }

    /// <summary>Odd cases read b one element later, so a and b reach a 16-byte boundary at different elements.</summary>
    private static int BShift(int c) => c & 1;

    private static readonly int[] Starts = [0, 4, 8, 1, 3, 0, 5, 16, 0];
    private static readonly int[] Lengths = [Length, 996, 8, 999, 17, 0, 1, 7, 3];

    [Fact]
    public void KernelBodiesMatchLoops()
    {
        using var cpu = IlgpuCpu.Nvidia32();
        var random = new RandomData();
        float[] a = random.Floats(Length + 16, 3f);
        float[] b = random.Floats(Length + 17, 3f);
        ushort[] aBf16 = random.Bf16Values(Length + 16, 3f);
        using var aBuffer = cpu.Upload(a);
        using var bBuffer = cpu.Upload(b);
        using var aBf16Buffer = cpu.Upload(aBf16);
        using var startsBuffer = cpu.Upload(Starts);
        using var lengthsBuffer = cpu.Upload(Lengths);
        using var scalars = cpu.Accelerator.Allocate1D<float>(Starts.Length * 4);
        using var scaled = cpu.Accelerator.Allocate1D<float>(Starts.Length * (Length + 16));
        using var product = cpu.Accelerator.Allocate1D<float>(Starts.Length * (Length + 16));
        scaled.MemSetToZero();
        product.MemSetToZero();
        var kernel = cpu.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<ushort>,
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(
            (index, a, b, ab, s, l, sc, sd, p) => VectorKernel(a, b, ab, s, l, sc, sd, p));
        kernel(32, aBuffer.View, bBuffer.View, aBf16Buffer.View, startsBuffer.View, lengthsBuffer.View, scalars.View, scaled.View, product.View);
        cpu.Accelerator.Synchronize();

        float[] actualScalars = scalars.GetAsArray1D();
        float[] actualScaled = scaled.GetAsArray1D();
        float[] actualProduct = product.GetAsArray1D();
        for (int c = 0; c < Starts.Length; c++)
        {
            string where = $"seed {random.Seed}, case {c} (start {Starts[c]}, length {Lengths[c]})";
            var expected = References(a, b, aBf16, Starts[c], Lengths[c], BShift(c));
            AssertClose(expected.Dot, actualScalars[4 * c], where + " Dot");
            AssertClose(expected.DotBf16, actualScalars[4 * c + 1], where + " DotBf16");
            AssertClose(expected.SumOfSquares, actualScalars[4 * c + 2], where + " SumOfSquares");
            Assert.True(expected.Max == actualScalars[4 * c + 3], where + " Max");
            int outStart = c * (Length + 16) + Starts[c];
            for (int i = 0; i < Lengths[c]; i++)
            {
                Assert.True(a[Starts[c] + i] * 0.5f == actualScaled[outStart + i], where + $" Scale[{i}]");
                Assert.True(a[Starts[c] + i] * b[Starts[c] + BShift(c) + i] * 3f == actualProduct[outStart + i], where + $" MultiplyScale[{i}]");
            }
        }
    }

    [Theory]
    [InlineData(0, Length)]
    [InlineData(3, 999)]
    [InlineData(5, 0)]
    [InlineData(2, 15)]
    public void CpuBodiesMatchLoops(int start, int length)
    {
        using var cpu = IlgpuCpu.Nvidia32();
        var random = new RandomData();
        float[] a = random.Floats(Length + 16, 3f);
        float[] b = random.Floats(Length + 16, 3f);
        ushort[] aBf16 = random.Bf16Values(Length + 16, 3f);
        using var aBuffer = cpu.Upload(a);
        using var bBuffer = cpu.Upload(b);
        using var aBf16Buffer = cpu.Upload(aBf16);
        using var scaled = cpu.Accelerator.Allocate1D<float>(Length + 16);
        using var product = cpu.Accelerator.Allocate1D<float>(Length + 16);
        var expected = References(a, b, aBf16, start, length);
        string where = $"seed {random.Seed}";

        AssertClose(expected.Dot, KsVectorCpu.DotCpu(aBuffer.View, start, bBuffer.View, start, length), where + " Dot");
        AssertClose(expected.DotBf16, KsVectorCpu.DotBf16Cpu(aBf16Buffer.View, start, bBuffer.View, start, length), where + " DotBf16");
        AssertClose(expected.SumOfSquares, KsVectorCpu.SumOfSquaresCpu(aBuffer.View, start, length), where + " SumOfSquares");
        Assert.Equal(expected.Max, KsVectorCpu.MaxCpu(aBuffer.View, start, length));
        KsVectorCpu.ScaleCpu(aBuffer.View, start, scaled.View, start, length, 0.5f);
        KsVectorCpu.MultiplyScaleCpu(aBuffer.View, start, bBuffer.View, start, product.View, start, length, 3f);
        float[] actualScaled = scaled.GetAsArray1D();
        float[] actualProduct = product.GetAsArray1D();
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(a[start + i] * 0.5f, actualScaled[start + i]);
            Assert.Equal(a[start + i] * b[start + i] * 3f, actualProduct[start + i]);
        }
    }

    /// <summary>The decode form that streams bf16 rows in pairs gives each row the bits of the one-row host dot.</summary>
    [Theory]
    [InlineData(1, 64)]
    [InlineData(5, 1024)]
    [InlineData(3, 300)]
    public void Bf16_rows_in_pairs_give_each_rows_one_row_dot(int rows, int length)
    {
        using var cpu = IlgpuCpu.Nvidia32();
        var random = new RandomData();
        using var a = cpu.Upload(random.Bf16Values(rows * length + 8, 3f));
        using var b = cpu.Upload(random.Floats(length + 8, 3f));
        var sums = new float[rows];
        KsVectorCpu.DotBf16RowsCpu(a.View, 8, rows, b.View, 8, length, sums);
        for (int r = 0; r < rows; r++)
        {
            float alone = KsVectorCpu.DotBf16Cpu(a.View, 8 + (long)r * length, b.View, 8, length);
            Assert.True(BitConverter.SingleToUInt32Bits(alone) == BitConverter.SingleToUInt32Bits(sums[r]),
                $"seed {random.Seed}, row {r} of {rows}: {sums[r]} where one row gives {alone}");
        }
    }

    [Fact]
    public void Float4LoadAndStoreMoveFourElements()
    {
        using var cpu = IlgpuCpu.Nvidia32();
        float[] data = new RandomData().Floats(16);
        using var buffer = cpu.Upload(data);
        Float4 loaded = KsVectorCpu.LoadFloat4Cpu(buffer.View, 8);
        Assert.Equal(new Float4(data[8], data[9], data[10], data[11]), loaded);
        KsVectorCpu.StoreFloat4Cpu(buffer.View, 4, new Float4(1, 2, 3, 4));
        Assert.Equal(new float[] { 1, 2, 3, 4 }, buffer.GetAsArray1D()[4..8]);

        using var copy = cpu.Accelerator.Allocate1D<float>(16);
        copy.MemSetToZero();
        var kernel = cpu.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(
            (index, source, target) => KsVector.StoreFloat4(target, 4 * index, KsVector.LoadFloat4(source, 4 * index)));
        kernel(4, buffer.View, copy.View);
        cpu.Accelerator.Synchronize();
        Assert.Equal(buffer.GetAsArray1D(), copy.GetAsArray1D());
    }

    [Fact]
    public void CpuBodiesRejectRangesOutsideTheView()
    {
        using var cpu = IlgpuCpu.Nvidia32();
        using var buffer = cpu.Accelerator.Allocate1D<float>(8);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => KsVectorCpu.SumOfSquaresCpu(buffer.View, 4, 5));
        Assert.Contains("[4, 9)", error.Message);
    }

    private static (double Dot, double DotBf16, double SumOfSquares, float Max) References(
        float[] a, float[] b, ushort[] aBf16, int start, int length, int bShift = 0)
    {
        double dot = 0, dotBf16 = 0, squares = 0;
        float max = float.NegativeInfinity;
        for (int i = start; i < start + length; i++)
        {
            dot += (double)a[i] * b[i + bShift];
            dotBf16 += (double)Bf16.ToFloat(aBf16[i]) * b[i + bShift];
            squares += (double)a[i] * a[i];
            max = Math.Max(max, a[i]);
        }
        return (dot, dotBf16, squares, max);
    }

    private static void AssertClose(double expected, float actual, string where)
        => Assert.True(Math.Abs(expected - actual) <= 1e-5 * Length * 9, $"{where}: expected {expected}, got {actual}");
}
