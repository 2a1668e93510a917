using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Warp steps of <see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/> (FlashMLA-style sparse attention on bf16 tensor
/// cores). A group of 4 warps owns one query × 16 heads (one m16 tile); per tile of 32 selected keys:
/// <list type="number">
/// <item><see cref="GatherTile"/>: cp.async copies the 32 bf16 cache rows [c ‖ k_pe] (576 each) into shared memory.</item>
/// <item><see cref="ScoreSlice"/>: each warp multiplies its 144 of the 576 dims (9 k16 steps, Q fragments in registers,
/// K through ldmatrix) into a partial S [16 heads × 32 keys]; <see cref="StorePartialScores"/> puts it in shared memory.</item>
/// <item><see cref="AttendTile"/>: each warp sums the 4 partials at its own fragment positions (all warps get the
/// same S), runs the online softmax in fp32 (row max/sum over the 4 lanes of a row with shuffles), reuses P as the
/// bf16 A fragment, and adds P·V for its 128 of the 512 value columns.</item>
/// </list>
/// V needs pairs of consecutive keys per mma B word, but rows in shared memory are keys. Instead of ldmatrix .trans
/// (no intrinsic for it), a lane reads 16 bytes (8 columns) of 4 key rows and builds the B words of 8 n8 tiles with
/// byte permutes: output tile e of a 64-column half maps its logical column n to physical column 8n + e, which
/// <see cref="WriteRows"/> undoes. Rows are padded to 584 bf16 (1168 bytes) so both the ldmatrix rows and these
/// 16-byte reads (rows 2t, columns 8g) fall in distinct banks. Shared memory: 37 376 + 8 192 bytes (under 48 KB).
/// Everything a lane keeps in registers is written out field by field (ILGPU 1.5.3 does not unroll loops; an array
/// indexed at run time would live in local memory). The generated CPU path runs the <c>...Combine</c> methods.
/// </summary>
public static class MlaTensorCoreTile
{
    /// <summary>kv_lora_rank the kernel is built for (DeepSeek-V3.2): the value width.</summary>
    public const int LatentDim = 512;

    /// <summary>qk_rope_head_dim the kernel is built for.</summary>
    public const int RopeDim = 64;

    /// <summary>One cache row / query row: [c (512) ‖ k_pe (64)].</summary>
    public const int RowLength = LatentDim + RopeDim;

    /// <summary>Heads per group: the m16 of one mma tile.</summary>
    public const int HeadsPerGroup = 16;

    /// <summary>Selected keys per shared tile: the k of two P·V k16 steps, the n of four S n8 tiles.</summary>
    public const int KeysPerTile = 32;

    /// <summary>Warps per group; the score dims and the value columns are split between them.</summary>
    public const int Warps = 4;

    /// <summary>Threads per group.</summary>
    public const int Threads = Warps * 32;

    /// <summary>Shared row stride in bf16: 576 + 8 padding (1168 bytes = 9·128 + 16: 8 consecutive rows hit 8 bank groups).</summary>
    public const int TileStride = RowLength + 8;

    /// <summary>16-byte chunks per cache row.</summary>
    public const int ChunksPerRow = RowLength / 8;

    /// <summary>Score dims per warp: 9 k16 steps.</summary>
    public const int DimsPerWarp = RowLength / Warps;

    /// <summary>Value columns per warp: two halves of 64 (8 n8 tiles each).</summary>
    public const int ColumnsPerWarp = LatentDim / Warps;

    /// <summary>Floats of one warp's partial scores: [16 heads × 32 keys].</summary>
    public const int ScoreSliceLength = HeadsPerGroup * KeysPerTile;

    /// <summary>
    /// This lane's bf16 A fragments of the group's queries (rows = heads, rounded from fp32) for its warp's 144 dims.
    /// Heads at or past <paramref name="headsHere"/> read as zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static QueryFragments LoadQuery(ArrayView<float> queries, long firstQueryRow, int headsHere, int warp, int lane) // queries [Q, H, 576]
    {
        int g = lane >> 2;
        int d = warp * DimsPerWarp + 2 * (lane & 3);
        var q = new QueryFragments
        {
            S0 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d),
            S1 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 16),
            S2 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 32),
            S3 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 48),
            S4 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 64),
            S5 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 80),
            S6 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 96),
            S7 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 112),
            S8 = LoadQueryStep(queries, firstQueryRow, headsHere, g, d + 128),
        };
        return q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static AFragment LoadQueryStep(ArrayView<float> queries, long firstQueryRow, int headsHere, int g, int d)
        => new(QueryPair(queries, firstQueryRow, headsHere, g, d), QueryPair(queries, firstQueryRow, headsHere, g + 8, d),
               QueryPair(queries, firstQueryRow, headsHere, g, d + 8), QueryPair(queries, firstQueryRow, headsHere, g + 8, d + 8));

    /// <summary>Query elements d, d+1 of a head as two bf16 in one word (0 for a head outside the group's heads).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint QueryPair(ArrayView<float> queries, long firstQueryRow, int headsHere, int head, int d)
    {
        if (head >= headsHere)
            return 0;
        long index = (firstQueryRow + head) * RowLength + d;
        return Bf16.FromFloat(queries[index]) | ((uint)Bf16.FromFloat(queries[index + 1]) << 16);
    }

    /// <summary>
    /// Starts the cp.async copies of the tile's 32 cache rows (keys past <paramref name="tileKeys"/> repeat the last
    /// valid row: finite values that the softmax weighs by 0). Commit and wait follow in the kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GatherTile(
        ArrayView<ushort> kvCache,  // [Tc, 576] bf16
        ArrayView<int> selected,    // [Q, selectedStride]
        long firstSelected,         // index in selected of the tile's first key
        int tileKeys,
        ArrayView<ushort> tile,     // [32, 584] bf16, shared
        int thread)
    {
        for (int chunk = thread; chunk < KeysPerTile * ChunksPerRow; chunk += Threads)
        {
            int key = chunk / ChunksPerRow;
            int part = chunk - key * ChunksPerRow;
            long row = selected[firstSelected + Math.Min(key, tileKeys - 1)];
            CopyChunk(kvCache, row * RowLength + part * 8, tile, key * TileStride + part * 8);
        }
    }

    /// <summary>One 16-byte chunk global → shared (cp.async on CUDA, a plain copy elsewhere and on the CPU path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyChunk(ArrayView<ushort> kvCache, long source, ArrayView<ushort> tile, int target)
        => TensorCore.CopyAsync16(tile, target, kvCache, source);

    /// <summary>
    /// Element offset of the row this lane hands to ldmatrix.x4 for the K operand of S = Q·Kᵀ (rows = keys, columns
    /// = dims): matrices keys 0-7/dims 0-7, keys 0-7/dims 8-15, keys 8-15/dims 0-7, keys 8-15/dims 8-15, i.e. the B0, B1
    /// words of key tiles 0-7 and 8-15; starts at the warp's first dim.
    /// </summary>
    public static int ScoreLaneOffset(int warp, int lane)
        => ((lane & 7) + 8 * (lane >> 4)) * TileStride + warp * DimsPerWarp + 8 * ((lane >> 3) & 1);

    /// <summary>
    /// The warp's partial S [16 heads × 32 keys] over its 144 dims: 9 k16 steps of 2 ldmatrix.x4 + 4 mma. A warp
    /// collective; the generated CPU path computes it with <see cref="ScoreSliceCombine"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(ScoreSliceCombine), UniformResult = false)]
    public static ScoreFragments ScoreSlice(ScoreOperands operands)
    {
        var s = new ScoreFragments();
        var tile = operands.Tile;
        int offset = operands.LaneOffset;
        var q = operands.Query;
        s = ScoreStep(s, tile, offset, q.S0);
        s = ScoreStep(s, tile, offset + 16, q.S1);
        s = ScoreStep(s, tile, offset + 32, q.S2);
        s = ScoreStep(s, tile, offset + 48, q.S3);
        s = ScoreStep(s, tile, offset + 64, q.S4);
        s = ScoreStep(s, tile, offset + 80, q.S5);
        s = ScoreStep(s, tile, offset + 96, q.S6);
        s = ScoreStep(s, tile, offset + 112, q.S7);
        s = ScoreStep(s, tile, offset + 128, q.S8);
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ScoreFragments ScoreStep(ScoreFragments s, ArrayView<ushort> tile, int offset, AFragment q)
    {
        var keys0 = TensorCore.LdMatrixX4(tile, offset);                   // keys 0-15
        var keys1 = TensorCore.LdMatrixX4(tile, offset + 16 * TileStride); // keys 16-31
        s.T0 = Mma(s.T0, q, keys0.R0, keys0.R1);
        s.T1 = Mma(s.T1, q, keys0.R2, keys0.R3);
        s.T2 = Mma(s.T2, q, keys1.R0, keys1.R1);
        s.T3 = Mma(s.T3, q, keys1.R2, keys1.R3);
        return s;
    }

    /// <summary>
    /// CPU path of <see cref="ScoreSlice"/>: lane <paramref name="lane"/>'s partial scores (heads g, g+8; keys
    /// 8j + 2t, +1) over its warp's dims, from the fp32 queries rounded to bf16 and the shared tile.
    /// </summary>
    public static ScoreFragments ScoreSliceCombine(ReadOnlySpan<ScoreOperands> perLane, int lane)
    {
        var own = perLane[lane];
        var tile = HostSpan.Of(own.Tile, 0, (int)own.Tile.Length);
        int g = lane >> 2, key = 2 * (lane & 3);
        return new ScoreFragments
        {
            T0 = LaneScoreTile(own, tile, g, key),
            T1 = LaneScoreTile(own, tile, g, key + 8),
            T2 = LaneScoreTile(own, tile, g, key + 16),
            T3 = LaneScoreTile(own, tile, g, key + 24),
        };
    }

    /// <summary>Scores of heads g, g+8 with keys <paramref name="key"/>, +1 over the warp's dims (CPU path).</summary>
    private static MmaAccumulator LaneScoreTile(ScoreOperands own, Span<ushort> tile, int g, int key)
        => new(LaneScore(own, tile, g, key), LaneScore(own, tile, g, key + 1), LaneScore(own, tile, g + 8, key), LaneScore(own, tile, g + 8, key + 1));

    private static float LaneScore(ScoreOperands own, Span<ushort> tile, int head, int key)
    {
        if (head >= own.HeadsHere)
            return 0f;
        float sum = 0f;
        long queryStart = (own.FirstQueryRow + head) * RowLength;
        for (int d = own.Warp * DimsPerWarp; d < (own.Warp + 1) * DimsPerWarp; d++)
            sum += Bf16.ToFloat(Bf16.FromFloat(own.Queries[queryStart + d])) * Bf16.ToFloat(tile[key * TileStride + d]);
        return sum;
    }

    /// <summary>Writes the lane's partial scores into its warp's [16 × 32] slice of <paramref name="partialScores"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StorePartialScores(ArrayView<float> partialScores, ScoreFragments s, int warp, int lane) // partialScores [4 warps, 16, 32], shared
    {
        int index = warp * ScoreSliceLength + (lane >> 2) * KeysPerTile + 2 * (lane & 3);
        StoreScoreTile(partialScores, index, s.T0);
        StoreScoreTile(partialScores, index + 8, s.T1);
        StoreScoreTile(partialScores, index + 16, s.T2);
        StoreScoreTile(partialScores, index + 24, s.T3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScoreTile(ArrayView<float> partialScores, int index, MmaAccumulator c)
    {
        partialScores[index] = c.C0;
        partialScores[index + 1] = c.C1;
        partialScores[index + 8 * KeysPerTile] = c.C2;
        partialScores[index + 8 * KeysPerTile + 1] = c.C3;
    }

    /// <summary>The state before any key: zero accumulators, running max −∞, running sum 0.</summary>
    public static AttentionState InitialState() => new()
    {
        Max0 = float.NegativeInfinity,
        Max1 = float.NegativeInfinity,
    };

    /// <summary>
    /// Online softmax and P·V for one tile: S = scale · Σ_warps partial (keys past TileKeys masked to −∞); running max
    /// m, alpha = exp(m_old − m), p = exp(s − m), l = alpha·l + Σp, O = alpha·O + P·V (P rounded to bf16) over the
    /// warp's 128 value columns. Rows g and g+8 of the lane (lane = 4g + t); every lane of a row holds the same m, l.
    /// A warp collective; the generated CPU path runs <see cref="AttendTileCombine"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(AttendTileCombine), UniformResult = false)]
    public static AttentionState AttendTile(AttendOperands operands)
    {
        int lane = Warp.LaneIdx;
        var state = operands.State;
        var s = LoadScores(operands.PartialScores, operands.TileKeys, operands.Scale, lane);
        float max0 = QuadMax(MathF.Max(MathF.Max(MathF.Max(s.T0.C0, s.T0.C1), MathF.Max(s.T1.C0, s.T1.C1)), MathF.Max(MathF.Max(s.T2.C0, s.T2.C1), MathF.Max(s.T3.C0, s.T3.C1))));
        float max1 = QuadMax(MathF.Max(MathF.Max(MathF.Max(s.T0.C2, s.T0.C3), MathF.Max(s.T1.C2, s.T1.C3)), MathF.Max(MathF.Max(s.T2.C2, s.T2.C3), MathF.Max(s.T3.C2, s.T3.C3))));
        float newMax0 = MathF.Max(state.Max0, max0);
        float newMax1 = MathF.Max(state.Max1, max1);
        float alpha0 = MathF.Exp(state.Max0 - newMax0); // exp(−∞) = 0 on the first tile
        float alpha1 = MathF.Exp(state.Max1 - newMax1);
        var p = new ScoreFragments
        {
            T0 = Exponentiate(s.T0, newMax0, newMax1),
            T1 = Exponentiate(s.T1, newMax0, newMax1),
            T2 = Exponentiate(s.T2, newMax0, newMax1),
            T3 = Exponentiate(s.T3, newMax0, newMax1),
        };
        float sum0 = QuadSum(p.T0.C0 + p.T0.C1 + p.T1.C0 + p.T1.C1 + p.T2.C0 + p.T2.C1 + p.T3.C0 + p.T3.C1);
        float sum1 = QuadSum(p.T0.C2 + p.T0.C3 + p.T1.C2 + p.T1.C3 + p.T2.C2 + p.T2.C3 + p.T3.C2 + p.T3.C3);
        state.Max0 = newMax0;
        state.Max1 = newMax1;
        state.Sum0 = state.Sum0 * alpha0 + sum0;
        state.Sum1 = state.Sum1 * alpha1 + sum1;
        state.Low = Rescale(state.Low, alpha0, alpha1);
        state.High = Rescale(state.High, alpha0, alpha1);

        // The C fragments of two neighbouring n8 score tiles are exactly the A fragment of a k16 step of P·V.
        var keys0 = new AFragment(PackBf16(p.T0.C0, p.T0.C1), PackBf16(p.T0.C2, p.T0.C3), PackBf16(p.T1.C0, p.T1.C1), PackBf16(p.T1.C2, p.T1.C3));
        var keys1 = new AFragment(PackBf16(p.T2.C0, p.T2.C1), PackBf16(p.T2.C2, p.T2.C3), PackBf16(p.T3.C0, p.T3.C1), PackBf16(p.T3.C2, p.T3.C3));
        int column = operands.Warp * ColumnsPerWarp + 8 * (lane >> 2);
        int row = 2 * (lane & 3) * TileStride;
        var tile = operands.Tile;
        state.Low = ValueStep(state.Low, keys0, tile, row + column);
        state.Low = ValueStep(state.Low, keys1, tile, row + 16 * TileStride + column);
        state.High = ValueStep(state.High, keys0, tile, row + column + 64);
        state.High = ValueStep(state.High, keys1, tile, row + 16 * TileStride + column + 64);
        return state;
    }

    /// <summary>The lane's 16 summed, scaled, masked scores (same positions as <see cref="ScoreSlice"/>'s fragments).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ScoreFragments LoadScores(ArrayView<float> partialScores, int tileKeys, float scale, int lane)
    {
        int index = (lane >> 2) * KeysPerTile + 2 * (lane & 3);
        int key = 2 * (lane & 3);
        return new ScoreFragments
        {
            T0 = LoadScoreTile(partialScores, index, key, tileKeys, scale),
            T1 = LoadScoreTile(partialScores, index + 8, key + 8, tileKeys, scale),
            T2 = LoadScoreTile(partialScores, index + 16, key + 16, tileKeys, scale),
            T3 = LoadScoreTile(partialScores, index + 24, key + 24, tileKeys, scale),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MmaAccumulator LoadScoreTile(ArrayView<float> partialScores, int index, int key, int tileKeys, float scale)
    {
        const int nextRows = 8 * KeysPerTile;
        return new MmaAccumulator(
            key < tileKeys ? scale * SumOverWarps(partialScores, index) : float.NegativeInfinity,
            key + 1 < tileKeys ? scale * SumOverWarps(partialScores, index + 1) : float.NegativeInfinity,
            key < tileKeys ? scale * SumOverWarps(partialScores, index + nextRows) : float.NegativeInfinity,
            key + 1 < tileKeys ? scale * SumOverWarps(partialScores, index + nextRows + 1) : float.NegativeInfinity);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumOverWarps(ArrayView<float> partialScores, int index)
        => partialScores[index] + partialScores[index + ScoreSliceLength] + partialScores[index + 2 * ScoreSliceLength] + partialScores[index + 3 * ScoreSliceLength];

    /// <summary>Max over the 4 lanes of a row (lanes 4g..4g+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float QuadMax(float value)
    {
        value = MathF.Max(value, Warp.ShuffleXor(value, 1));
        return MathF.Max(value, Warp.ShuffleXor(value, 2));
    }

    /// <summary>Sum over the 4 lanes of a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float QuadSum(float value)
    {
        value += Warp.ShuffleXor(value, 1);
        return value + Warp.ShuffleXor(value, 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MmaAccumulator Exponentiate(MmaAccumulator s, float max0, float max1)
        => new(MathF.Exp(s.C0 - max0), MathF.Exp(s.C1 - max0), MathF.Exp(s.C2 - max1), MathF.Exp(s.C3 - max1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PackBf16(float low, float high) => Bf16.FromFloat(low) | ((uint)Bf16.FromFloat(high) << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MmaAccumulator Scale(MmaAccumulator c, float alpha0, float alpha1)
        => new(c.C0 * alpha0, c.C1 * alpha0, c.C2 * alpha1, c.C3 * alpha1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static OutputHalf Rescale(OutputHalf o, float alpha0, float alpha1) => new()
    {
        T0 = Scale(o.T0, alpha0, alpha1),
        T1 = Scale(o.T1, alpha0, alpha1),
        T2 = Scale(o.T2, alpha0, alpha1),
        T3 = Scale(o.T3, alpha0, alpha1),
        T4 = Scale(o.T4, alpha0, alpha1),
        T5 = Scale(o.T5, alpha0, alpha1),
        T6 = Scale(o.T6, alpha0, alpha1),
        T7 = Scale(o.T7, alpha0, alpha1),
    };

    /// <summary>
    /// One k16 step of P·V into a 64-column half: the lane reads columns 8g..8g+7 (16 bytes at
    /// <paramref name="offset"/>, row 2t of the step) of key rows 2t, 2t+1, 2t+8, 2t+9 and pairs them per column
    /// into the B words of tiles 0..7 (tile e, logical column g ↔ physical column 8g + e).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static OutputHalf ValueStep(OutputHalf o, AFragment p, ArrayView<ushort> tile, int offset)
    {
        var r0 = Load16(tile, offset);
        var r1 = Load16(tile, offset + TileStride);
        var r8 = Load16(tile, offset + 8 * TileStride);
        var r9 = Load16(tile, offset + 9 * TileStride);
        o.T0 = Mma(o.T0, p, Low(r0.X, r1.X), Low(r8.X, r9.X));
        o.T1 = Mma(o.T1, p, High(r0.X, r1.X), High(r8.X, r9.X));
        o.T2 = Mma(o.T2, p, Low(r0.Y, r1.Y), Low(r8.Y, r9.Y));
        o.T3 = Mma(o.T3, p, High(r0.Y, r1.Y), High(r8.Y, r9.Y));
        o.T4 = Mma(o.T4, p, Low(r0.Z, r1.Z), Low(r8.Z, r9.Z));
        o.T5 = Mma(o.T5, p, High(r0.Z, r1.Z), High(r8.Z, r9.Z));
        o.T6 = Mma(o.T6, p, Low(r0.W, r1.W), Low(r8.W, r9.W));
        o.T7 = Mma(o.T7, p, High(r0.W, r1.W), High(r8.W, r9.W));
        return o;
    }

    /// <summary>16 bytes (8 bf16) of the shared tile; the element sits on a 16-byte boundary.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Words4 Load16(ArrayView<ushort> tile, int offset)
        => tile.SubView(offset, 8).AsAligned(16).Cast<Words4>()[0];

    /// <summary>The low bf16 of two words, first word's in the low half (the even column of two keys).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Low(uint first, uint second) => (first & 0xFFFFu) | (second << 16);

    /// <summary>The high bf16 of two words (the odd column of two keys).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint High(uint first, uint second) => (first >> 16) | (second & 0xFFFF0000u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MmaAccumulator Mma(MmaAccumulator c, AFragment a, uint b0, uint b1)
        => TensorCore.MmaBf16(new MmaBf16Fragments(c, a.A0, a.A1, a.A2, a.A3, b0, b1));

    /// <summary>
    /// The physical value column of output tile <paramref name="tile"/> (0..15: half = tile / 8, e = tile % 8), logical
    /// column <paramref name="n"/> (0..7), for warp <paramref name="warp"/>.
    /// </summary>
    public static int ValueColumn(int warp, int tile, int n) => warp * ColumnsPerWarp + 64 * (tile >> 3) + 8 * n + (tile & 7);

    /// <summary>
    /// CPU path of <see cref="AttendTile"/>: the same update for lane <paramref name="lane"/>'s rows and columns, with
    /// whole rows of S read from the shared partials and P·V summed key by key.
    /// </summary>
    public static AttentionState AttendTileCombine(ReadOnlySpan<AttendOperands> perLane, int lane)
    {
        var own = perLane[lane];
        var partial = HostSpan.Of(own.PartialScores, 0, (int)own.PartialScores.Length);
        var tile = HostSpan.Of(own.Tile, 0, (int)own.Tile.Length);
        var state = own.State;
        int g = lane >> 2, t = lane & 3;
        Span<float> p0 = stackalloc float[KeysPerTile]; // row g: bf16-rounded probabilities
        Span<float> p1 = stackalloc float[KeysPerTile]; // row g + 8
        (state.Max0, state.Sum0, float alpha0) = SoftmaxRow(partial, g, own.TileKeys, own.Scale, state.Max0, state.Sum0, p0);
        (state.Max1, state.Sum1, float alpha1) = SoftmaxRow(partial, g + 8, own.TileKeys, own.Scale, state.Max1, state.Sum1, p1);
        state.Low = new OutputHalf
        {
            T0 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T0, 0, p0, p1), T1 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T1, 1, p0, p1),
            T2 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T2, 2, p0, p1), T3 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T3, 3, p0, p1),
            T4 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T4, 4, p0, p1), T5 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T5, 5, p0, p1),
            T6 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T6, 6, p0, p1), T7 = Update(own.Warp, tile, alpha0, alpha1, t, state.Low.T7, 7, p0, p1),
        };
        state.High = new OutputHalf
        {
            T0 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T0, 8, p0, p1), T1 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T1, 9, p0, p1),
            T2 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T2, 10, p0, p1), T3 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T3, 11, p0, p1),
            T4 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T4, 12, p0, p1), T5 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T5, 13, p0, p1),
            T6 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T6, 14, p0, p1), T7 = Update(own.Warp, tile, alpha0, alpha1, t, state.High.T7, 15, p0, p1),
        };
        return state;
    }

    /// <summary>Lane tile <paramref name="outputTile"/> of O rescaled and plus P·V (P rows g and g+8 already rounded to bf16).</summary>
    private static MmaAccumulator Update(int warp, Span<ushort> tile, float alpha0, float alpha1, int t, MmaAccumulator c, int outputTile, Span<float> row0, Span<float> row1)
    {
        int column0 = ValueColumn(warp, outputTile, 2 * t), column1 = ValueColumn(warp, outputTile, 2 * t + 1);
        return new MmaAccumulator(
            c.C0 * alpha0 + ValueSum(tile, row0, column0), c.C1 * alpha0 + ValueSum(tile, row0, column1),
            c.C2 * alpha1 + ValueSum(tile, row1, column0), c.C3 * alpha1 + ValueSum(tile, row1, column1));
    }

    private static float ValueSum(Span<ushort> tile, Span<float> p, int column)
    {
        float sum = 0f;
        for (int k = 0; k < KeysPerTile; k++)
            sum += p[k] * Bf16.ToFloat(tile[k * TileStride + column]);
        return sum;
    }

    /// <summary>Online-softmax step of one head row: new (max, sum, alpha), and the row's probabilities rounded to bf16 in <paramref name="probabilities"/>.</summary>
    private static (float Max, float Sum, float Alpha) SoftmaxRow(Span<float> partial, int head, int tileKeys, float scale, float max, float sum, Span<float> probabilities)
    {
        float newMax = max;
        for (int k = 0; k < tileKeys; k++)
            newMax = MathF.Max(newMax, scale * RowScore(partial, head, k));
        float alpha = MathF.Exp(max - newMax);
        float tileSum = 0f;
        for (int k = 0; k < KeysPerTile; k++)
        {
            float p = k < tileKeys ? MathF.Exp(scale * RowScore(partial, head, k) - newMax) : 0f;
            tileSum += p;
            probabilities[k] = Bf16.ToFloat(Bf16.FromFloat(p));
        }
        return (newMax, sum * alpha + tileSum, alpha);
    }

    private static float RowScore(Span<float> partial, int head, int key)
    {
        int index = head * KeysPerTile + key;
        return partial[index] + partial[index + ScoreSliceLength] + partial[index + 2 * ScoreSliceLength] + partial[index + 3 * ScoreSliceLength];
    }

    /// <summary>
    /// Writes the lane's rows (heads g, g+8 below <paramref name="headsHere"/>) of its warp's 128 columns, times
    /// <paramref name="factor0"/> / <paramref name="factor1"/> (1/l for a final output, 1 for a split's partial).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteRows(ArrayView<float> output, long firstRow, int headsHere, AttentionState state, int warp, int lane, float factor0, float factor1) // output [rows, 512]
    {
        int g = lane >> 2;
        bool write0 = g < headsHere;
        bool write1 = g + 8 < headsHere;
        long base0 = (firstRow + g) * LatentDim + warp * ColumnsPerWarp + 16 * (lane & 3);
        long base1 = base0 + 8L * LatentDim;
        WriteHalf(output, base0, base1, write0, write1, state.Low, factor0, factor1);
        WriteHalf(output, base0 + 64, base1 + 64, write0, write1, state.High, factor0, factor1);
    }

    /// <summary>Tile e of a half holds physical columns 16t + e (logical 2t) and 16t + 8 + e (logical 2t + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteHalf(ArrayView<float> output, long base0, long base1, bool write0, bool write1, OutputHalf o, float factor0, float factor1)
    {
        WriteTile(output, base0, base1, write0, write1, o.T0, factor0, factor1);
        WriteTile(output, base0 + 1, base1 + 1, write0, write1, o.T1, factor0, factor1);
        WriteTile(output, base0 + 2, base1 + 2, write0, write1, o.T2, factor0, factor1);
        WriteTile(output, base0 + 3, base1 + 3, write0, write1, o.T3, factor0, factor1);
        WriteTile(output, base0 + 4, base1 + 4, write0, write1, o.T4, factor0, factor1);
        WriteTile(output, base0 + 5, base1 + 5, write0, write1, o.T5, factor0, factor1);
        WriteTile(output, base0 + 6, base1 + 6, write0, write1, o.T6, factor0, factor1);
        WriteTile(output, base0 + 7, base1 + 7, write0, write1, o.T7, factor0, factor1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteTile(ArrayView<float> output, long index0, long index1, bool write0, bool write1, MmaAccumulator c, float factor0, float factor1)
    {
        if (write0)
        {
            output[index0] = c.C0 * factor0;
            output[index0 + 8] = c.C1 * factor0;
        }
        if (write1)
        {
            output[index1] = c.C2 * factor1;
            output[index1 + 8] = c.C3 * factor1;
        }
    }
}

/// <summary>A lane's A fragment of one m16k16 step (see <see cref="MmaBf16Fragments"/> for the layout).</summary>
public readonly struct AFragment(uint a0, uint a1, uint a2, uint a3)
{
    public readonly uint A0 = a0;
    public readonly uint A1 = a1;
    public readonly uint A2 = a2;
    public readonly uint A3 = a3;
}

/// <summary>A lane's bf16 query fragments over its warp's 144 dims: k16 steps S0..S8.</summary>
public struct QueryFragments
{
    public AFragment S0, S1, S2, S3, S4, S5, S6, S7, S8;
}

/// <summary>A lane's share of S [16 heads × 32 keys] as four m16n8 tiles (T<i>j</i>: keys 8j..8j+7).</summary>
public struct ScoreFragments
{
    public MmaAccumulator T0, T1, T2, T3;
}

/// <summary>A lane's share of 64 output columns of O [16 heads × 64] as eight m16n8 tiles (column mapping: <see cref="MlaTensorCoreTile.ValueColumn"/>).</summary>
public struct OutputHalf
{
    public MmaAccumulator T0, T1, T2, T3, T4, T5, T6, T7;
}

/// <summary>
/// A lane's running attention state: its 128 columns of the unnormalized output (two halves) for heads g and g+8,
/// and those rows' running max (in score units) and running sum of exp(s − max).
/// </summary>
public struct AttentionState
{
    public OutputHalf Low;
    public OutputHalf High;
    public float Max0;
    public float Max1;
    public float Sum0;
    public float Sum1;
}

/// <summary>One lane's operands of <see cref="MlaTensorCoreTile.ScoreSlice"/> (a collective takes one argument).</summary>
public struct ScoreOperands
{
    public ArrayView<ushort> Tile;     // [32, 584] bf16, shared
    public int LaneOffset;             // MlaTensorCoreTile.ScoreLaneOffset(warp, lane)
    public QueryFragments Query;
    public ArrayView<float> Queries;   // [Q, H, 576] (CPU path: reads the queries directly)
    public long FirstQueryRow;         // query·H + first head of the group
    public int HeadsHere;
    public int Warp;

    public ScoreOperands(ArrayView<ushort> tile, QueryFragments query, ArrayView<float> queries, long firstQueryRow, int headsHere, int warp, int lane)
    {
        Tile = tile;
        LaneOffset = MlaTensorCoreTile.ScoreLaneOffset(warp, lane);
        Query = query;
        Queries = queries;
        FirstQueryRow = firstQueryRow;
        HeadsHere = headsHere;
        Warp = warp;
    }
}

/// <summary>One lane's operands of <see cref="MlaTensorCoreTile.AttendTile"/>.</summary>
public struct AttendOperands
{
    public ArrayView<float> PartialScores; // [4 warps, 16, 32], shared
    public ArrayView<ushort> Tile;         // [32, 584] bf16, shared
    public int TileKeys;                   // valid keys of the tile (1..32)
    public float Scale;
    public int Warp;
    public AttentionState State;

    public AttendOperands(ArrayView<float> partialScores, ArrayView<ushort> tile, int tileKeys, float scale, int warp, AttentionState state)
    {
        PartialScores = partialScores;
        Tile = tile;
        TileKeys = tileKeys;
        Scale = scale;
        Warp = warp;
        State = state;
    }
}
