using ILGPU;
using ILGPU.Algorithms;
using KernelSharp.Dsl;

namespace KernelSharp.Generators.Tests.Kernels;

/// <summary>
/// Kernels written here, in the test project, so the execution tests exercise the generator on code it does not
/// own. Each has a plain CPU reference in <see cref="References"/>.
/// </summary>
public static partial class TestKernels
{
    /// <summary>c[i] = a[i] + b[i]. Views: a, b, c [n].</summary>
    [Kernel(Grid = "(n + blockSize - 1) / blockSize", GroupSize = "blockSize")]
    public static void VectorAdd(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int n, [Constant(64, 128)] int blockSize)
    {
        int i = Grid.IdxX * Group.DimX + Group.IdxX;
        if (i >= n)
            return;
        c[i] = a[i] + b[i];
    }

    /// <summary>y = x / sqrt(mean(x²) + eps) · weight, one group per row. Views: x, y [rows × cols], weight [cols].</summary>
    [Kernel(Grid = "rows", GroupSize = "blockSize")]
    public static void RmsNorm(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> y, int rows, [Shape(64, 256)] int cols, float eps,
        [Constant(32, 128)] int blockSize)
    {
        long rowStart = (long)Grid.IdxX * cols;
        float partial = 0f;
        for (int c = Group.IdxX; c < cols; c += blockSize)
        {
            float v = x[rowStart + c];
            partial += v * v;
        }
        float total = KsGroup.Sum(partial);
        float scale = 1f / XMath.Sqrt(total / cols + eps);
        for (int c = Group.IdxX; c < cols; c += blockSize)
            y[rowStart + c] = x[rowStart + c] * scale * weight[c];
    }

    /// <summary>
    /// Row softmax, one group per row: a group max, then a shared-memory tree sum behind barriers (a group-uniform
    /// loop that the variants unroll). Views: x, y [rows × cols].
    /// </summary>
    [Kernel(Grid = "rows", GroupSize = "blockSize")]
    public static void Softmax(ArrayView<float> x, ArrayView<float> y, int rows, int cols, [Constant(32, 64)] int blockSize)
    {
        var partialSums = SharedMemory.Allocate<float>(blockSize); // [blockSize]
        long rowStart = (long)Grid.IdxX * cols;
        float localMax = float.NegativeInfinity;
        for (int c = Group.IdxX; c < cols; c += blockSize)
            localMax = XMath.Max(localMax, x[rowStart + c]);
        float rowMax = KsGroup.Max(localMax);
        float localSum = 0f;
        for (int c = Group.IdxX; c < cols; c += blockSize)
        {
            float e = XMath.Exp(x[rowStart + c] - rowMax);
            y[rowStart + c] = e;
            localSum += e;
        }
        partialSums[Group.IdxX] = localSum;
        Group.Barrier();
        for (int stride = blockSize / 2; stride > 0; stride /= 2)
        {
            if (Group.IdxX < stride)
                partialSums[Group.IdxX] += partialSums[Group.IdxX + stride];
            Group.Barrier();
        }
        float inverse = 1f / partialSums[0];
        for (int c = Group.IdxX; c < cols; c += blockSize)
            y[rowStart + c] *= inverse;
    }

    /// <summary>y = x · scale(x) where scale = 1 / max|x| of the row; may run in place (y == x). Views: x, y [rows × cols].</summary>
    [Kernel(Grid = "rows", GroupSize = "blockSize")]
    public static void ScaleByRowMax(ArrayView<float> x, ArrayView<float> y, int rows, int cols, [Constant(32, 64)] int blockSize)
    {
        long rowStart = (long)Grid.IdxX * cols;
        float localMax = 0f;
        for (int c = Group.IdxX; c < cols; c += blockSize)
            localMax = XMath.Max(localMax, XMath.Abs(x[rowStart + c]));
        float rowMax = KsGroup.Max(localMax);
        for (int c = Group.IdxX; c < cols; c += blockSize)
            y[rowStart + c] = x[rowStart + c] / rowMax;
    }
}

/// <summary>Where <see cref="TestKernels.RowDot"/> reads its weights: one storage format per implementation.</summary>
public interface IWeightRows
{
    float Load(long index);
}

/// <summary>fp32 weights.</summary>
public struct Fp32Rows : IWeightRows
{
    public ArrayView<float> Values;

    public readonly float Load(long index) => Values[index];
}

/// <summary>bf16 weights, widened on load.</summary>
public struct Bf16Rows : IWeightRows
{
    public ArrayView<ushort> Bits;

    public readonly float Load(long index) => Bf16.ToFloat(Bits[index]);
}

public static partial class TestKernels
{
    /// <summary>
    /// y[r] = Σ_c w[r, c] · x[c] for weights in any <see cref="IWeightRows"/> format: one source, one launcher, one
    /// compiled kernel per format. Views: weights [rows × cols], x [cols], y [rows].
    /// </summary>
    [Kernel(Grid = "rows", GroupSize = "blockSize")]
    public static void RowDot<TRows>(TRows weights, ArrayView<float> x, ArrayView<float> y, int rows, int cols, [Constant(32, 64)] int blockSize)
        where TRows : struct, IWeightRows
    {
        long rowStart = (long)Grid.IdxX * cols;
        float partial = 0f;
        for (int c = Group.IdxX; c < cols; c += blockSize)
            partial += weights.Load(rowStart + c) * x[c];
        float total = KsGroup.Sum(partial);
        if (Group.IdxX == 0)
            y[Grid.IdxX] = total;
    }
}

public static partial class TestKernels
{
    /// <summary>
    /// Each group stages its <paramref name="tile"/> inputs in shared memory and writes them back reversed, times a tag
    /// from a second, small allocation: out[g·tile + i] = in[g·tile + tile − 1 − i] · (1 + i % 3). At tile 20 000 the two
    /// allocations need 80 016 bytes, over CUDA's 48 KB of static shared memory, so that variant runs on dynamic shared
    /// memory (the float slice after the three tags starts on 16 bytes). Views: input, output [groups × tile].
    /// </summary>
    [Kernel(Grid = "groups", GroupSize = "256", LargeSharedMemory = true)]
    public static void ReverseThroughShared(ArrayView<float> input, ArrayView<float> output, int groups, [Shape(2048, 20000)] int tile)
    {
        var tags = SharedMemory.Allocate<ushort>(3);
        var staged = SharedMemory.Allocate<float>(tile);
        long start = (long)Grid.IdxX * tile;
        if (Group.IdxX < 3)
            tags[Group.IdxX] = (ushort)(Group.IdxX + 1);
        for (int i = Group.IdxX; i < tile; i += Group.DimX)
            staged[i] = input[start + i];
        Group.Barrier();
        for (int i = Group.IdxX; i < tile; i += Group.DimX)
            output[start + i] = staged[tile - 1 - i] * tags[i % 3];
    }
}
