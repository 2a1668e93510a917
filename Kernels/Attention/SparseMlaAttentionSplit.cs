using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Split-key sparse MLA for decode on a GPU: one query has only heads/8 head blocks (16 groups at 128 heads), too few
/// to fill a GPU, so each (query, head block) is also split into <c>splits</c> slices of its selected keys. Every
/// slice runs the <see cref="MlaTile"/> steps over its keys and writes its unnormalized accumulator with its
/// running max and sum; <see cref="MlaKernels.CombineMlaSplits"/> then merges the slices (the log-sum-exp rescale of
/// online softmax). With one split this is <see cref="MlaKernels.SparseMlaAttention"/> plus a division.
/// </summary>
public static partial class MlaKernels
{
    [Kernel(Grid = "queryCount", GridY = "((heads + 7) / 8) * splits", GroupSize = "128")]
    public static void SparseMlaAttentionSplit<TCache>(
        ArrayView<float> queries,        // [Q, H, L+R] per head [q_abs ‖ q_pe]
        TCache kvCache,             // [Tc, L+R] per token [c ‖ k_pe] (fp32 or bf16 rows)
        ArrayView<int> selected,         // [Q, selectedStride] cache rows each query attends; first counts[q] used
        ArrayView<int> counts,           // [Q] selected keys per query
        ArrayView<float> partialOutput,  // [Q, splits, H, L] out: Σ exp(s − m)·c over the slice's keys
        ArrayView<float> partialStats,   // [Q, splits, H, 2] out: (running max m, running sum l) of the slice
        int queryCount,
        int heads,
        int latentDim,
        int ropeDim,
        int selectedStride,
        int splits,
        float scale)
        where TCache : struct, IRowFormat<TCache>
    {
        int query = Grid.IdxX;
        int headBlocks = (heads + MlaTile.HeadsPerGroup - 1) / MlaTile.HeadsPerGroup;
        int headBase = Grid.IdxY % headBlocks * MlaTile.HeadsPerGroup;
        int split = Grid.IdxY / headBlocks;
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
        // Slices are whole tiles, so every slice but the last starts and ends on a tile boundary.
        int count = counts[query];
        int tilesPerSplit = ((count + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile + splits - 1) / splits;
        int sliceStart = split * tilesPerSplit * MlaTile.KeysPerTile;
        int sliceEnd = Math.Min(count, sliceStart + tilesPerSplit * MlaTile.KeysPerTile);
        int tiles = sliceEnd > sliceStart ? (sliceEnd - sliceStart + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile : 0;
        KsGroup.Barrier();

        for (int tile = 0; tile < tiles; tile++)
        {
            int tileStart = sliceStart + tile * MlaTile.KeysPerTile;
            int tileKeys = Math.Min(MlaTile.KeysPerTile, sliceEnd - tileStart);
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

        long firstPartialRow = ((long)query * splits + split) * heads + headBase;
        MlaTile.WritePartial(accumulator, runningMax, runningSum, partialOutput, partialStats, firstPartialRow, headsHere, latentDim, thread, threads);
    }
}
