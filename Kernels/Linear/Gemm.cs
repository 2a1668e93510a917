using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Tiled GEMM for prefill batches on CUDA-core fp32 math: C[m, n] = Σ_k A[m, k] · W[n, k] (a Linear layer over
/// m tokens), W in fp32, bf16 or block-scaled fp8, converted to fp32 as the tile loader stages it in shared memory.
/// One group of 256 threads computes a 64×64 tile of C, each thread a 4×4 block, stepping k by 16. Edges (m, n or
/// k not multiples of the tile) load zeros. On the CPU
/// the batched <see cref="GemvKernels"/> (group size 1) is the faster choice for the same product.
/// </summary>
public static partial class GemmKernels
{
    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "256")]
    public static void GemmF32(
        ArrayView<float> a,      // [m, k]
        ArrayView<float> weight, // [n, k]
        ArrayView<float> c,      // [m, n]
        int m,
        int n,
        int k)
    {
        var aTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileM); // [16 (k), 64 (m)]
        var wTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileN); // [16 (k), 64 (n)]
        int thread = Group.IdxX;
        int rowStart = Grid.IdxY * GemmTiles.TileM;
        int colStart = Grid.IdxX * GemmTiles.TileN;
        var acc = new Accumulator4x4();
        for (int k0 = 0; k0 < k; k0 += GemmTiles.TileK)
        {
            GemmTiles.LoadActivations(a, aTile, m, k, rowStart, k0, thread);
            GemmTiles.LoadWeightsF32(weight, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
    }

    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "256")]
    public static void GemmBf16(
        ArrayView<float> a,       // [m, k]
        ArrayView<ushort> weight, // [n, k] bf16
        ArrayView<float> c,       // [m, n]
        int m,
        int n,
        int k)
    {
        var aTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileM); // [16 (k), 64 (m)]
        var wTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileN); // [16 (k), 64 (n)]
        int thread = Group.IdxX;
        int rowStart = Grid.IdxY * GemmTiles.TileM;
        int colStart = Grid.IdxX * GemmTiles.TileN;
        var acc = new Accumulator4x4();
        for (int k0 = 0; k0 < k; k0 += GemmTiles.TileK)
        {
            GemmTiles.LoadActivations(a, aTile, m, k, rowStart, k0, thread);
            GemmTiles.LoadWeightsBf16(weight, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
    }

    /// <summary>W[n, k] = fp8(n, k) · scaleInv[n / 128, k / 128]; a 16-wide k step never crosses a 128 scale block.</summary>
    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "256")]
    public static void GemmFp8(
        ArrayView<float> a,        // [m, k]
        ArrayView<byte> weight,    // [n, k] e4m3
        ArrayView<float> scaleInv, // [ceil(n/128), ceil(k/128)]
        ArrayView<float> c,        // [m, n]
        int m,
        int n,
        int k)
    {
        var aTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileM); // [16 (k), 64 (m)]
        var wTile = SharedMemory.Allocate<float>(GemmTiles.TileK * GemmTiles.TileN); // [16 (k), 64 (n)]
        int thread = Group.IdxX;
        int rowStart = Grid.IdxY * GemmTiles.TileM;
        int colStart = Grid.IdxX * GemmTiles.TileN;
        var acc = new Accumulator4x4();
        for (int k0 = 0; k0 < k; k0 += GemmTiles.TileK)
        {
            GemmTiles.LoadActivations(a, aTile, m, k, rowStart, k0, thread);
            GemmTiles.LoadWeightsFp8(weight, scaleInv, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
    }
}
