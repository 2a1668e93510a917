using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Tiled GEMM for prefill batches on CUDA-core fp32 math: C[m, n] = Σ_k A[m, k] · W[n, k] (a Linear layer over
/// m tokens), W in fp32, bf16 or block-scaled fp8, converted to fp32 as the tile loader stages it in shared memory.
/// A group owns a 64×64 tile of C. Two shapes, picked by the <c>groupSize</c> constant:
/// 256 — the GPU form: each thread a 4×4 block, k stepped by 16 through shared-memory tiles, edges loaded as zeros;
/// 1 — the CPU form: the one thread computes the tile as 64×64 row dot products with the span intrinsics
/// (TensorPrimitives on the CPU path), each weight row reused from cache for the tile's 64 tokens; its shared-memory
/// loop runs zero times (the loop bound is uniform, so the collective rule of the CPU path holds).
/// </summary>
public static partial class GemmKernels
{
    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "groupSize")]
    public static void GemmF32(
        ArrayView<float> a,      // [m, k]
        ArrayView<float> weight, // [n, k]
        ArrayView<float> c,      // [m, n]
        int m,
        int n,
        int k,
        [Constant(256, 1)] int groupSize)
    {
        var aTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileM); // [16 (k), 64 (m)]
        var wTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileN); // [16 (k), 64 (n)]
        int thread = Group.IdxX;
        int rowStart = Grid.IdxY * GemmTiles.TileM;
        int colStart = Grid.IdxX * GemmTiles.TileN;
        var acc = new Accumulator4x4();
        int tiledK = groupSize == 1 ? 0 : k;
        for (int k0 = 0; k0 < tiledK; k0 += GemmTiles.TileK)
        {
            GemmTiles.LoadActivations(a, aTile, m, k, rowStart, k0, thread);
            GemmTiles.LoadWeightsF32(weight, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        if (groupSize == 1)
            GemmRowDots.TileF32(a, weight, c, m, n, k, rowStart, colStart);
        else
            GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
    }

    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "groupSize")]
    public static void GemmBf16(
        ArrayView<float> a,       // [m, k]
        ArrayView<ushort> weight, // [n, k] bf16
        ArrayView<float> c,       // [m, n]
        int m,
        int n,
        int k,
        [Constant(256, 1)] int groupSize)
    {
        var aTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileM); // [16 (k), 64 (m)]
        var wTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileN); // [16 (k), 64 (n)]
        int thread = Group.IdxX;
        int rowStart = Grid.IdxY * GemmTiles.TileM;
        int colStart = Grid.IdxX * GemmTiles.TileN;
        var acc = new Accumulator4x4();
        int tiledK = groupSize == 1 ? 0 : k;
        for (int k0 = 0; k0 < tiledK; k0 += GemmTiles.TileK)
        {
            GemmTiles.LoadActivations(a, aTile, m, k, rowStart, k0, thread);
            GemmTiles.LoadWeightsBf16(weight, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        if (groupSize == 1)
            GemmRowDots.TileBf16(a, weight, c, m, n, k, rowStart, colStart);
        else
            GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
    }

    /// <summary>W[n, k] = fp8(n, k) · scaleInv[n / 128, k / 128]; a 16-wide k step never crosses a 128 scale block.</summary>
    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "groupSize")]
    public static void GemmFp8(
        ArrayView<float> a,        // [m, k]
        ArrayView<byte> weight,    // [n, k] e4m3
        ArrayView<float> scaleInv, // [ceil(n/128), ceil(k/128)]
        ArrayView<float> c,        // [m, n]
        int m,
        int n,
        int k,
        [Constant(256, 1)] int groupSize)
    {
        var aTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileM); // [16 (k), 64 (m)]
        var wTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileN); // [16 (k), 64 (n)]
        int thread = Group.IdxX;
        int rowStart = Grid.IdxY * GemmTiles.TileM;
        int colStart = Grid.IdxX * GemmTiles.TileN;
        var acc = new Accumulator4x4();
        int tiledK = groupSize == 1 ? 0 : k;
        for (int k0 = 0; k0 < tiledK; k0 += GemmTiles.TileK)
        {
            GemmTiles.LoadActivations(a, aTile, m, k, rowStart, k0, thread);
            GemmTiles.LoadWeightsFp8(weight, scaleInv, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        if (groupSize == 1)
            GemmRowDots.TileFp8(a, weight, scaleInv, c, m, n, k, rowStart, colStart);
        else
            GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
    }
}
