using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Sparse MLA attention on the latent cache (DSA.md §3, absorbed form): each query attends only the cache rows its
/// indexer selected. Serves prefill (S queries, each with its own set) and decode (a batch of queries) alike.
/// One group per (query, block of <see cref="MlaTile.HeadsPerGroup"/> heads); see <see cref="MlaTile"/> for the steps.
/// Selected entries are rows of <c>kvCache</c>: decoding several sequences at once either shares one pooled cache
/// (each sequence's indices offset by its first row) or launches once per sequence on sub-views.
/// </summary>
public static partial class MlaKernels
{
    [Kernel(Grid = "queryCount", GridY = "(heads + 7) / 8", GroupSize = "128")]
    public static void SparseMlaAttention<TCache>(
        ArrayView<float> queries,   // [Q, H, L+R] per head [q_abs ‖ q_pe]
        TCache kvCache,             // [Tc, L+R] per token [c ‖ k_pe] (fp32 or bf16 rows)
        ArrayView<int> selected,    // [Q, selectedStride] cache rows each query attends; first counts[q] used, any order
        ArrayView<int> counts,      // [Q] selected keys per query (0 gives a zero output)
        ArrayView<float> output,    // [Q, H, L] out: o_lat
        int queryCount,
        int heads,
        int latentDim,
        int ropeDim,
        int selectedStride,
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
        int count = counts[query];
        int tiles = (count + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile;
        KsGroup.Barrier();

        for (int tile = 0; tile < tiles; tile++)
        {
            int tileStart = tile * MlaTile.KeysPerTile;
            int tileKeys = Math.Min(MlaTile.KeysPerTile, count - tileStart);
            for (int j = thread; j < tileKeys; j += threads)
                tileRows[j] = selected[(long)query * selectedStride + tileStart + j];
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
