using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Dense causal MLA attention on the latent cache (absorbed form): query q attends cache rows 0..positions[q].
/// The same tile steps as <see cref="MlaKernels.SparseMlaAttention"/> (<see cref="MlaTile"/>) with the key list
/// 0, 1, 2, …, so a sparse launch whose selection is every visible key in ascending order gives identical bits.
/// </summary>
public static partial class MlaKernels
{
    [Kernel(Grid = "queryCount", GridY = "(heads + 7) / 8", GroupSize = "128")]
    public static void DenseMlaAttention<TCache>(
        ArrayView<float> queries,   // [Q, H, L+R] per head [q_abs ‖ q_pe]
        TCache kvCache,             // [Tc, L+R] per token [c ‖ k_pe] (fp32 or bf16 rows)
        ArrayView<int> positions,   // [Q] cache row of each query's own token (it sees rows 0..positions[q])
        ArrayView<float> output,    // [Q, H, L] out: o_lat
        int queryCount,
        int heads,
        int latentDim,
        int ropeDim,
        float scale)
        where TCache : struct, IRowFormat<TCache>
    {
        int query = Grid.IdxX;
        int headBase = Grid.IdxY * MlaTile.HeadsPerGroup;
        int thread = Group.IdxX;
        int threads = Group.DimX;
        int headsHere = Math.Min(MlaTile.HeadsPerGroup, heads - headBase);
        int rowLength = latentDim + ropeDim;
        long firstQueryRow = (long)query * heads + headBase;
        var tileRows = SharedMemory.Allocate<int>(MlaTile.KeysPerTile);                                // [keys]
        var tileScores = SharedMemory.Allocate<float>(MlaTile.HeadsPerGroup * MlaTile.KeysPerTile);    // [heads, keys]
        var runningMax = SharedMemory.Allocate<float>(MlaTile.HeadsPerGroup);                           // [heads]
        var runningSum = SharedMemory.Allocate<float>(MlaTile.HeadsPerGroup);                           // [heads]
        var rescale = SharedMemory.Allocate<float>(MlaTile.HeadsPerGroup);                              // [heads]
        var accumulator = SharedMemory.Allocate<float>(MlaTile.HeadsPerGroup * MlaTile.MaxLatentDim);   // [heads, L]
        MlaTile.Initialize(accumulator, runningMax, runningSum, latentDim, thread, threads);
        int count = positions[query] + 1;
        int tiles = (count + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile;
        KsGroup.Barrier();

        for (int tile = 0; tile < tiles; tile++)
        {
            int tileStart = tile * MlaTile.KeysPerTile;
            int tileKeys = Math.Min(MlaTile.KeysPerTile, count - tileStart);
            for (int j = thread; j < tileKeys; j += threads)
                tileRows[j] = tileStart + j;
            KsGroup.Barrier();
            MlaTile.ScoreTile(queries, firstQueryRow, kvCache, tileRows, tileKeys, headsHere, rowLength, scale, tileScores, thread, threads);
            KsGroup.Barrier();
            for (int h = thread; h < MlaTile.HeadsPerGroup; h += threads)
                MlaTile.SoftmaxStep(tileScores, runningMax, runningSum, rescale, h, tileKeys);
            KsGroup.Barrier();
            MlaTile.AccumulateTile(kvCache, tileRows, tileKeys, tileScores, rescale, accumulator, headsHere, latentDim, rowLength, thread, threads);
            KsGroup.Barrier();
        }

        MlaTile.WriteOutput(accumulator, runningSum, output, firstQueryRow * latentDim, headsHere, latentDim, thread, threads);
    }
}
