using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Generators.Tests.Kernels;

/// <summary>A tensor-core GEMM written in the test project: the generator must handle a per-lane warp collective.</summary>
public static partial class TensorCoreKernels
{
    /// <summary>
    /// c = a · b with bf16 inputs and fp32 accumulation; one warp per 16×8 output tile, k in steps of 16 through
    /// <see cref="TensorCore.MmaBf16"/>. a: [m, k] bf16 bits; b: [k, n] bf16 bits; c: [m, n]. m % 16 == 0, n % 8 == 0, k % 16 == 0.
    /// </summary>
    [Kernel(Grid = "(m / 16) * (n / 8)", GroupSize = "32")]
    public static void MmaGemm(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, int m, int n, [Shape(64)] int k)
    {
        int tilesAcross = n / 8;
        int row0 = Grid.IdxX / tilesAcross * 16;
        int col0 = Grid.IdxX % tilesAcross * 8;
        int g = Group.IdxX / 4; // lane group: the output row within the tile (and row + 8)
        int t = Group.IdxX % 4; // lane within the group: output columns 2t, 2t + 1
        var accumulator = new MmaAccumulator(0f, 0f, 0f, 0f);
        for (int kk = 0; kk < k; kk += 16)
        {
            long top = (long)(row0 + g) * k + kk + 2 * t;
            long bottom = top + 8L * k;
            uint a0 = MmaTile.Pack(a[top], a[top + 1]);
            uint a1 = MmaTile.Pack(a[bottom], a[bottom + 1]);
            uint a2 = MmaTile.Pack(a[top + 8], a[top + 9]);
            uint a3 = MmaTile.Pack(a[bottom + 8], a[bottom + 9]);
            long column = col0 + g;
            uint b0 = MmaTile.Pack(b[(kk + 2 * t) * (long)n + column], b[(kk + 2 * t + 1) * (long)n + column]);
            uint b1 = MmaTile.Pack(b[(kk + 2 * t + 8) * (long)n + column], b[(kk + 2 * t + 9) * (long)n + column]);
            accumulator = TensorCore.MmaBf16(new MmaBf16Fragments(accumulator, a0, a1, a2, a3, b0, b1));
        }
        long outTop = (long)(row0 + g) * n + col0 + 2 * t;
        long outBottom = outTop + 8L * n;
        c[outTop] = accumulator.C0;
        c[outTop + 1] = accumulator.C1;
        c[outBottom] = accumulator.C2;
        c[outBottom + 1] = accumulator.C3;
    }
}
