using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// MLA attention on the latent cache (DSA.md §3, absorbed form), written once over two axes: the cache format
/// (<typeparamref name="TCache"/>: fp32 or bf16 rows) and the key source (<typeparamref name="TKeys"/>, see
/// <see cref="IMlaKeySource{TSelf}"/>): dense causal (<see cref="DenseKeys"/>), the indexer's selection
/// (<see cref="SelectedKeys"/>, prefill and decode alike), or the selection cut into slices for decode on a GPU
/// (<see cref="SelectedKeySlices"/>, then <see cref="CombineMlaSplits"/>).
/// One group per (query, block of <see cref="MlaTile.HeadsPerGroup"/> heads, key slice) walks its keys in tiles with
/// the <see cref="MlaTile"/> steps, so dense keys give the bits of a sparse launch whose selection is every visible key
/// in ascending order. Selected entries are rows of <c>kvCache</c>: decoding several sequences at once either shares one
/// pooled cache (each sequence's indices offset by its first row) or launches once per sequence on sub-views.
/// </summary>
public static partial class MlaKernels
{
    [Kernel(Grid = "queryCount", GridY = "(heads + 7) / 8 * keys.Slices", GroupSize = "128", HostGroup = nameof(MlaAttentionHost))]
    public static void MlaAttention<TCache, TKeys>(
        ArrayView<float> queries,      // [Q, H, L+R] per head [q_abs ‖ q_pe]
        TCache kvCache,                // [Tc, L+R] per token [c ‖ k_pe] (fp32 or bf16 rows)
        TKeys keys,                    // which cache rows each query attends (dense, selected, or selected in slices)
        ArrayView<float> output,       // [Q, slices, H, L] out: o_lat, or with partials Σ exp(s − m)·c over the slice's keys
        ArrayView<float> partialStats, // [Q, slices, H, 2] out with partials: (running max m, running sum l); else unused (empty)
        int queryCount,
        int heads,
        int latentDim,
        int ropeDim,
        float scale)
        where TCache : struct, IRowFormat<TCache>
        where TKeys : struct, IMlaKeySource<TKeys>
    {
        int query = Grid.IdxX;
        int headBlocks = (heads + MlaTile.HeadsPerGroup - 1) / MlaTile.HeadsPerGroup;
        int slice = keys.Slice(Grid.IdxY, headBlocks);
        int headBase = (Grid.IdxY - slice * headBlocks) * MlaTile.HeadsPerGroup;
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
        var range = keys.Range(query, slice);
        int tiles = (range.End - range.Start + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile;
        KsGroup.Barrier();

        for (int tile = 0; tile < tiles; tile++)
        {
            int tileStart = range.Start + tile * MlaTile.KeysPerTile;
            int tileKeys = Math.Min(MlaTile.KeysPerTile, range.End - tileStart);
            for (int j = thread; j < tileKeys; j += threads)
                tileRows[j] = keys.Row(query, tileStart + j);
            KsGroup.Barrier();
            MlaTile.ScoreTile(queries, firstQueryRow, kvCache, tileRows, tileKeys, headsHere, rowLength, scale, tileScores, thread, threads);
            KsGroup.Barrier();
            for (int h = thread; h < MlaTile.HeadsPerGroup; h += threads)
                MlaTile.SoftmaxStep(tileScores, runningMax, runningSum, rescale, h, tileKeys);
            KsGroup.Barrier();
            MlaTile.AccumulateTile(kvCache, tileRows, tileKeys, tileScores, rescale, accumulator, headsHere, latentDim, rowLength, thread, threads);
            KsGroup.Barrier();
        }

        // A constant per key source: ILGPU keeps only one of the two writes.
        if (keys.WritesPartials)
        {
            long firstPartialRow = ((long)query * keys.Slices + slice) * heads + headBase;
            MlaTile.WritePartial(accumulator, runningMax, runningSum, output, partialStats, firstPartialRow, headsHere, latentDim, thread, threads);
        }
        else
        {
            MlaTile.WriteOutput(accumulator, runningSum, output, firstQueryRow * latentDim, headsHere, latentDim, thread, threads);
        }
    }

    /// <summary>
    /// The host form of a group: the body's steps in the body's order, each done whole by the one host thread (the
    /// steps' thread shares are independent, so the bits are the body's). Emulating the group's 128 threads walked every
    /// step once per emulated thread, with per-thread copies of the group's locals: about 100 µs a layer for a decode
    /// token at a context of 64, several times the arithmetic.
    /// </summary>
    private static void MlaAttentionHost<TCache, TKeys>(ArrayView<float> queries, TCache kvCache, TKeys keys, ArrayView<float> output,
        ArrayView<float> partialStats, int queryCount, int heads, int latentDim, int ropeDim, float scale, int query, int groupY)
        where TCache : struct, IRowFormat<TCache>
        where TKeys : struct, IMlaKeySource<TKeys>
    {
        int headBlocks = (heads + MlaTile.HeadsPerGroup - 1) / MlaTile.HeadsPerGroup;
        int slice = keys.Slice(groupY, headBlocks);
        int headBase = (groupY - slice * headBlocks) * MlaTile.HeadsPerGroup;
        int headsHere = Math.Min(MlaTile.HeadsPerGroup, heads - headBase);
        int rowLength = latentDim + ropeDim;
        long firstQueryRow = (long)query * heads + headBase;
        var tileRows = CpuSharedMemory.Rent<int>("MlaAttentionHost.tileRows", MlaTile.KeysPerTile);
        var tileScores = CpuSharedMemory.Rent<float>("MlaAttentionHost.tileScores", MlaTile.HeadsPerGroup * MlaTile.KeysPerTile);
        var runningMax = CpuSharedMemory.Rent<float>("MlaAttentionHost.runningMax", MlaTile.HeadsPerGroup);
        var runningSum = CpuSharedMemory.Rent<float>("MlaAttentionHost.runningSum", MlaTile.HeadsPerGroup);
        var rescale = CpuSharedMemory.Rent<float>("MlaAttentionHost.rescale", MlaTile.HeadsPerGroup);
        var accumulator = CpuSharedMemory.Rent<float>("MlaAttentionHost.accumulator", MlaTile.HeadsPerGroup * MlaTile.MaxLatentDim);
        MlaTile.Initialize(accumulator, runningMax, runningSum, latentDim, 0, 1);
        var range = keys.Range(query, slice);
        for (int tileStart = range.Start; tileStart < range.End; tileStart += MlaTile.KeysPerTile)
        {
            int tileKeys = Math.Min(MlaTile.KeysPerTile, range.End - tileStart);
            for (int j = 0; j < tileKeys; j++)
                tileRows[j] = keys.Row(query, tileStart + j);
            MlaTile.ScoreTileCpu(queries, firstQueryRow, kvCache, tileRows, tileKeys, headsHere, rowLength, scale, tileScores, 0, 1);
            for (int h = 0; h < MlaTile.HeadsPerGroup; h++)
                MlaTile.SoftmaxStep(tileScores, runningMax, runningSum, rescale, h, tileKeys);
            MlaTile.AccumulateTileCpu(kvCache, tileRows, tileKeys, tileScores, rescale, accumulator, headsHere, latentDim, rowLength, 0, 1);
        }

        if (keys.WritesPartials)
        {
            long firstPartialRow = ((long)query * keys.Slices + slice) * heads + headBase;
            MlaTile.WritePartial(accumulator, runningMax, runningSum, output, partialStats, firstPartialRow, headsHere, latentDim, 0, 1);
        }
        else
        {
            MlaTile.WriteOutput(accumulator, runningSum, output, firstQueryRow * latentDim, headsHere, latentDim, 0, 1);
        }
    }
}
