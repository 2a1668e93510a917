using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Tiled GEMM for prefill batches on CUDA-core fp32 math: C[m, n] = Σ_k A[m, k] · W[n, k] (a Linear layer over
/// m tokens), W in any storage format (<see cref="IRowFormat{TSelf}"/>), widened to fp32 as the tile loader stages it
/// in shared memory. A group owns a 64×64 tile of C. Two shapes, picked by the <c>groupSize</c> constant:
/// 256 — the GPU form: each thread a 4×4 block, k stepped by 16 through shared-memory tiles, edges loaded as zeros;
/// 1 — the CPU form: the one thread computes the tile as 64×64 row dot products, weight row outermost so each weight
/// row is read from memory once and reused from cache for the tile's 64 tokens (the generated CPU path instead runs
/// <see cref="GemmTiles.HostTile{TWeights}"/>'s host body: four weight rows widened at a time, times four tokens in registers);
/// its shared-memory loop runs zero times (the loop bound is uniform, so the collective rule of the CPU path holds).
/// </summary>
public static partial class GemmKernels
{
    [Kernel(Grid = "(n + 63) / 64", GridY = "(m + 63) / 64", GroupSize = "groupSize")]
    public static void Gemm<TWeights>(
        ArrayView<float> a,      // [m, k]
        TWeights weight,         // [n, k]
        ArrayView<float> c,      // [m, n]
        int m,
        int n,
        int k,
        [Constant(256, 1)] int groupSize)
        where TWeights : struct, IRowFormat<TWeights>
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
            GemmTiles.LoadWeights(weight, wTile, n, k, colStart, k0, thread);
            KsGroup.Barrier();
            acc = GemmTiles.MultiplyTiles(aTile, wTile, acc, thread);
            KsGroup.Barrier();
        }
        if (groupSize == 1)
        {
            int rowEnd = IntrinsicMath.Min(rowStart + GemmTiles.TileM, m);
            int colEnd = IntrinsicMath.Min(colStart + GemmTiles.TileN, n);
            if (!GemmTiles.HostTile(a, weight, c, n, k, rowStart, rowEnd, colStart, colEnd))
            {
                for (int col = colStart; col < colEnd; col++)
                    for (int row = rowStart; row < rowEnd; row++)
                        c[(long)row * n + col] = weight.RowDot(col, k, a, (long)row * k);
            }
        }
        else
        {
            GemmTiles.Store(c, acc, m, n, rowStart, colStart, thread);
        }
    }
}
