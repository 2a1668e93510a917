using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// MLA attention on the latent cache (absorbed form, fp32 math) for GPUs: the same result as
/// <see cref="MlaAttention{TCache, TKeys}"/> for every cache format and key source, laid out for a GPU's memory
/// hierarchy. One 256-thread group per (query, 16 heads, key slice); each warp owns two heads.
/// </summary>
/// <remarks>
/// Why a second layout: <see cref="MlaAttention{TCache, TKeys}"/> gives each (head, key) pair to one thread, which
/// walks the 576-value query and key rows alone. Measured with Nsight Compute on an H100 (mid-5b, 64 sequences at 4K),
/// that launch took 1.78 ms per layer with the L1 busy 89% and 37% of its reads hitting: every key row was re-read
/// from L1/L2 once per head for the scores and once per head for the sums. Here a tile of 16 keys is copied once
/// into shared memory (coalesced 16-byte reads, decoded to fp32 there), each lane keeps its slice of its two heads'
/// query rows in registers for the whole slice (chunks lane, lane + 32, …: at most 5 per lane, rows of ≤ 640
/// values), a score is the lanes' partial dot products summed over the warp, and a lane's share of o_lat (≤ 4
/// chunks: kv_lora_rank ≤ 512) stays in registers across tiles. The online softmax is <see cref="MlaTile.SoftmaxStep"/>
/// (one thread per head), so slices write the (max, sum) that <see cref="CombineMlaSplits"/> merges.
/// Sums are fp32 in a fixed order per (query, head): a query's result does not depend on the other queries of the
/// launch, and dense keys give the bits of a selection that lists every visible key in ascending order.
/// </remarks>
public static partial class MlaKernels
{
    /// <summary>Heads per group of <see cref="MlaAttentionWarpHeads{TCache, TKeys}"/>: 8 warps of two heads.</summary>
    public const int WarpHeadsPerGroup = 16;

    /// <summary>Longest cache row (kv_lora_rank + qk_rope_head_dim) it takes: 5 chunks of 4 per lane.</summary>
    public const int WarpHeadsMaxRowLength = 640;

    [Kernel(Grid = "queryCount", GridY = "(heads + 15) / 16 * keys.Slices", GroupSize = "256")]
    public static void MlaAttentionWarpHeads<TCache, TKeys>(
        ArrayView<float> queries,      // [Q, H, L+R] per head [q_abs ‖ q_pe]
        TCache kvCache,                // [Tc, L+R] per token [c ‖ k_pe]
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
        int headBlocks = (heads + WarpHeadsPerGroup - 1) / WarpHeadsPerGroup;
        int slice = keys.Slice(Grid.IdxY, headBlocks);
        int headBase = (Grid.IdxY - slice * headBlocks) * WarpHeadsPerGroup;
        int thread = Group.IdxX;
        int lane = KsWarp.LaneIdx;
        int warp = thread / KsWarp.Size;
        int headsHere = Math.Min(WarpHeadsPerGroup, heads - headBase);
        int rowLength = latentDim + ropeDim;
        int rowChunks = rowLength / 4;
        int latentChunks = latentDim / 4;
        int firstHead = 2 * warp;  // this warp's heads: firstHead and firstHead + 1 of the group's
        long firstQueryRow = (long)query * heads + headBase;
        var tileRows = SharedMemory.Allocate<int>(MlaTile.KeysPerTile);                                             // [keys]
        var tile = SharedMemory.Allocate<Float4>(MlaTile.KeysPerTile * (WarpHeadsMaxRowLength / 4));                 // [keys, row chunks]
        var tileScores = SharedMemory.Allocate<float>(WarpHeadsPerGroup * MlaTile.KeysPerTile);                     // [heads, keys]
        var runningMax = SharedMemory.Allocate<float>(WarpHeadsPerGroup);                                           // [heads]
        var runningSum = SharedMemory.Allocate<float>(WarpHeadsPerGroup);                                           // [heads]
        var rescale = SharedMemory.Allocate<float>(WarpHeadsPerGroup);                                              // [heads]
        for (int h = thread; h < WarpHeadsPerGroup; h += Group.DimX)
        {
            runningMax[h] = float.NegativeInfinity;
            runningSum[h] = 0f;
        }

        var query0 = LoadQueryChunks(queries, firstQueryRow + firstHead, firstHead < headsHere, rowLength, rowChunks, lane);
        var query1 = LoadQueryChunks(queries, firstQueryRow + firstHead + 1, firstHead + 1 < headsHere, rowLength, rowChunks, lane);
        var sums0 = default(LatentChunks);
        var sums1 = default(LatentChunks);
        var range = keys.Range(query, slice);
        int tiles = (range.End - range.Start + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile;
        KsGroup.Barrier();

        for (int t = 0; t < tiles; t++)
        {
            int tileStart = range.Start + t * MlaTile.KeysPerTile;
            int tileKeys = Math.Min(MlaTile.KeysPerTile, range.End - tileStart);
            for (int j = thread; j < tileKeys; j += Group.DimX)
                tileRows[j] = keys.Row(query, tileStart + j);
            KsGroup.Barrier();
            // One coalesced sweep of the tile's rows, decoded to fp32 once for every head of the group.
            for (int i = thread; i < tileKeys * rowChunks; i += Group.DimX)
            {
                int j = i / rowChunks;
                int chunk = i - j * rowChunks;
                tile[j * rowChunks + chunk] = kvCache.Elements4(tileRows[j], rowLength, 4 * chunk);
            }
            KsGroup.Barrier();

            for (int j = 0; j < MlaTile.KeysPerTile; j++)
            {
                // Rows past tileKeys hold stale values: their sums are computed (the warp must stay converged for the
                // shuffles) and never used.
                float score0 = KsWarp.Sum(RowDotChunks(query0, tile, j * rowChunks, rowChunks, lane));
                float score1 = KsWarp.Sum(RowDotChunks(query1, tile, j * rowChunks, rowChunks, lane));
                if (lane == 0)
                {
                    tileScores[firstHead * MlaTile.KeysPerTile + j] = j < tileKeys && firstHead < headsHere ? scale * score0 : float.NegativeInfinity;
                    tileScores[(firstHead + 1) * MlaTile.KeysPerTile + j] = j < tileKeys && firstHead + 1 < headsHere ? scale * score1 : float.NegativeInfinity;
                }
            }
            KsGroup.Barrier();
            for (int h = thread; h < WarpHeadsPerGroup; h += Group.DimX)
                MlaTile.SoftmaxStep(tileScores, runningMax, runningSum, rescale, h, tileKeys);
            KsGroup.Barrier();
            sums0 = AccumulateChunks(sums0, rescale[firstHead], tileScores, firstHead * MlaTile.KeysPerTile, tile, tileKeys, rowChunks, latentChunks, lane);
            sums1 = AccumulateChunks(sums1, rescale[firstHead + 1], tileScores, (firstHead + 1) * MlaTile.KeysPerTile, tile, tileKeys, rowChunks, latentChunks, lane);
            KsGroup.Barrier();
        }

        // A constant per key source: ILGPU keeps only one of the two writes.
        if (keys.WritesPartials)
        {
            long firstPartialRow = ((long)query * keys.Slices + slice) * heads + headBase;
            if (firstHead < headsHere)
                StoreChunks(sums0, 1f, output, (firstPartialRow + firstHead) * latentDim, latentChunks, lane);
            if (firstHead + 1 < headsHere)
                StoreChunks(sums1, 1f, output, (firstPartialRow + firstHead + 1) * latentDim, latentChunks, lane);
            for (int h = thread; h < headsHere; h += Group.DimX)
            {
                partialStats[(firstPartialRow + h) * 2] = runningMax[h];
                partialStats[(firstPartialRow + h) * 2 + 1] = runningSum[h];
            }
        }
        else
        {
            if (firstHead < headsHere)
                StoreChunks(sums0, runningSum[firstHead], output, (firstQueryRow + firstHead) * latentDim, latentChunks, lane);
            if (firstHead + 1 < headsHere)
                StoreChunks(sums1, runningSum[firstHead + 1], output, (firstQueryRow + firstHead + 1) * latentDim, latentChunks, lane);
        }
    }

    /// <summary>Lanes of a warp (<see cref="KsWarp.Size"/>), named here so the helpers below stay plain arithmetic.</summary>
    private const int Lanes = 32;

    /// <summary>This lane's chunks (lane, lane + 32, …) of one head's query row; zeros for an absent head or chunk.</summary>
    private static QueryChunks LoadQueryChunks(ArrayView<float> queries, long row, bool present, int rowLength, int rowChunks, int lane)
    {
        long start = row * rowLength;
        return new QueryChunks(
            QueryChunk(queries, start, present, lane, rowChunks),
            QueryChunk(queries, start, present, lane + Lanes, rowChunks),
            QueryChunk(queries, start, present, lane + 2 * Lanes, rowChunks),
            QueryChunk(queries, start, present, lane + 3 * Lanes, rowChunks),
            QueryChunk(queries, start, present, lane + 4 * Lanes, rowChunks));
    }

    private static Float4 QueryChunk(ArrayView<float> queries, long start, bool present, int chunk, int rowChunks)
    {
        if (!present || chunk >= rowChunks)
            return default;
        long i = start + 4L * chunk;
        return new Float4(queries[i], queries[i + 1], queries[i + 2], queries[i + 3]);
    }

    /// <summary>This lane's share of query · tile row: its chunks in order (absent chunks are zeros on both sides' query).</summary>
    private static float RowDotChunks(QueryChunks q, ArrayView<Float4> tile, int rowStart, int rowChunks, int lane)
    {
        float total = Float4.Dot(q.C0, TileChunk(tile, rowStart, lane, rowChunks));
        total += Float4.Dot(q.C1, TileChunk(tile, rowStart, lane + Lanes, rowChunks));
        total += Float4.Dot(q.C2, TileChunk(tile, rowStart, lane + 2 * Lanes, rowChunks));
        total += Float4.Dot(q.C3, TileChunk(tile, rowStart, lane + 3 * Lanes, rowChunks));
        total += Float4.Dot(q.C4, TileChunk(tile, rowStart, lane + 4 * Lanes, rowChunks));
        return total;
    }

    private static Float4 TileChunk(ArrayView<Float4> tile, int rowStart, int chunk, int rowChunks) =>
        chunk < rowChunks ? tile[rowStart + chunk] : default;

    /// <summary>sums·r + Σ_j p[j]·c[j] over the tile's keys in order, for this lane's latent chunks.</summary>
    private static LatentChunks AccumulateChunks(LatentChunks sums, float r, ArrayView<float> probabilities, int probabilityStart,
        ArrayView<Float4> tile, int tileKeys, int rowChunks, int latentChunks, int lane)
    {
        var s0 = Scaled(sums.C0, r);
        var s1 = Scaled(sums.C1, r);
        var s2 = Scaled(sums.C2, r);
        var s3 = Scaled(sums.C3, r);
        bool has0 = lane < latentChunks;
        bool has1 = lane + Lanes < latentChunks;
        bool has2 = lane + 2 * Lanes < latentChunks;
        bool has3 = lane + 3 * Lanes < latentChunks;
        for (int j = 0; j < tileKeys; j++)
        {
            float p = probabilities[probabilityStart + j];
            int row = j * rowChunks + lane;
            if (has0)
                s0 = AddScaled(s0, p, tile[row]);
            if (has1)
                s1 = AddScaled(s1, p, tile[row + Lanes]);
            if (has2)
                s2 = AddScaled(s2, p, tile[row + 2 * Lanes]);
            if (has3)
                s3 = AddScaled(s3, p, tile[row + 3 * Lanes]);
        }
        return new LatentChunks(s0, s1, s2, s3);
    }

    private static Float4 Scaled(Float4 v, float r) => new(v.X * r, v.Y * r, v.Z * r, v.W * r);

    private static Float4 AddScaled(Float4 sum, float p, Float4 c) => new(sum.X + p * c.X, sum.Y + p * c.Y, sum.Z + p * c.Z, sum.W + p * c.W);

    /// <summary>output[start + 4·chunk …] = sums / divisor for this lane's latent chunks (0 where divisor is 0: a query
    /// with no key); partials pass 1, which leaves them as they are.</summary>
    private static void StoreChunks(LatentChunks sums, float divisor, ArrayView<float> output, long start, int latentChunks, int lane)
    {
        StoreChunk(sums.C0, divisor, output, start, lane, latentChunks);
        StoreChunk(sums.C1, divisor, output, start, lane + Lanes, latentChunks);
        StoreChunk(sums.C2, divisor, output, start, lane + 2 * Lanes, latentChunks);
        StoreChunk(sums.C3, divisor, output, start, lane + 3 * Lanes, latentChunks);
    }

    private static void StoreChunk(Float4 v, float divisor, ArrayView<float> output, long start, int chunk, int latentChunks)
    {
        if (chunk >= latentChunks)
            return;
        long i = start + 4L * chunk;
        output[i] = divisor > 0f ? v.X / divisor : 0f;
        output[i + 1] = divisor > 0f ? v.Y / divisor : 0f;
        output[i + 2] = divisor > 0f ? v.Z / divisor : 0f;
        output[i + 3] = divisor > 0f ? v.W / divisor : 0f;
    }
}

/// <summary>A lane's 5 chunks of a query row (row values 4·(lane + 32·i) …, i = 0..4), kept in registers.</summary>
public readonly struct QueryChunks(Float4 c0, Float4 c1, Float4 c2, Float4 c3, Float4 c4)
{
    public readonly Float4 C0 = c0, C1 = c1, C2 = c2, C3 = c3, C4 = c4;
}

/// <summary>A lane's 4 chunks of one head's o_lat sums (latent values 4·(lane + 32·i) …, i = 0..3), kept in registers.</summary>
public readonly struct LatentChunks(Float4 c0, Float4 c1, Float4 c2, Float4 c3)
{
    public readonly Float4 C0 = c0, C1 = c1, C2 = c2, C3 = c3;
}
