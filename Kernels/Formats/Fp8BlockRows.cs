using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// fp8 e4m3 weights with DeepSeek's 128×128 block scales: W[r, c] = e4m3(r, c) · scaleInv[r / 128, c / 128]. A 16-byte
/// chunk (16 values) never straddles a scale block because 128 is a multiple of 16, so each chunk's 16 products are
/// summed unscaled and multiplied by the block scale once (fewer multiplies, same math).
/// </summary>
public struct Fp8BlockRows : IRowFormat<Fp8BlockRows>, ITensorCoreRows<Fp8BlockRows>
{
    /// <summary>Rows and columns sharing one scale.</summary>
    public const int Block = 128;

    private const int PerChunk = 16; // e4m3 values per 16-byte chunk
    private const int ChunksPerBlock = Block / PerChunk;

    /// <summary>[rows · cols] e4m3 codes (a stack: [matrices · rows · cols]).</summary>
    public ArrayView<byte> Codes;

    /// <summary>[ceil(rows/128) · ceil(cols/128)] block scales (a stack: one grid per matrix).</summary>
    public ArrayView<float> ScaleInv;

    public Fp8BlockRows(ArrayView<byte> codes, ArrayView<float> scaleInv)
    {
        Codes = codes;
        ScaleInv = scaleInv;
    }

    /// <summary>Scale blocks along a row of <paramref name="cols"/> values.</summary>
    public static int ScaleColumns(int cols) => (cols + Block - 1) / Block;

    public readonly Fp8BlockRows Matrix(int index, int rows, int cols)
    {
        long length = (long)rows * cols;
        long scales = (long)((rows + Block - 1) / Block) * ScaleColumns(cols);
        return new Fp8BlockRows(Codes.SubView(index * length, length), ScaleInv.SubView(index * scales, scales));
    }

    public readonly float Element(int row, int cols, int col) =>
        Fp8E4M3.ToFloat(Codes[(long)row * cols + col]) * ScaleInv[(long)(row / Block) * ScaleColumns(cols) + col / Block];

    /// <summary>The four values share one scale block (col is a multiple of 4, 128 of 4).</summary>
    public readonly Float4 Elements4(int row, int cols, int col)
    {
        long start = (long)row * cols + col;
        float scale = ScaleInv[(long)(row / Block) * ScaleColumns(cols) + col / Block];
        return new Float4(Fp8E4M3.ToFloat(Codes[start]) * scale, Fp8E4M3.ToFloat(Codes[start + 1]) * scale,
            Fp8E4M3.ToFloat(Codes[start + 2]) * scale, Fp8E4M3.ToFloat(Codes[start + 3]) * scale);
    }

    /// <summary>The block scales change along a row (they stay in <see cref="DecodeUnscaled4"/>'s values):
    /// <paramref name="value"/> itself.</summary>
    public readonly float RowScaled(int row, float value) => value;

    /// <summary>The word of four codes as float bits in X, their block's scale in Y (4 values never straddle a block).</summary>
    public readonly Float4 LoadUnscaled4(int row, int cols, int col)
    {
        uint word = Codes.Cast<uint>()[((long)row * cols + col) / 4];
        float scale = ScaleInv[(long)(row / Block) * ScaleColumns(cols) + col / Block];
        return new Float4(Interop.IntAsFloat(word), scale, 0f, 0f);
    }

    public readonly Float4 DecodeUnscaled4(Float4 loaded)
    {
        Float4 values = Fp8E4M3.ToFloat4(Interop.FloatAsInt(loaded.X));
        return new Float4(values.X * loaded.Y, values.Y * loaded.Y, values.Z * loaded.Y, values.W * loaded.Y);
    }

    /// <summary>The GPU body on the host for now (these formats' strided dots are not on the generated CPU path's hot path).</summary>
    public readonly float StridedRowDotCpu(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes) =>
        StridedRowDot(row, cols, x, xStart, lane, lanes);

    public readonly float StridedRowDot(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes)
    {
        long start = (long)row * cols;
        long scaleStart = (long)(row / Block) * ScaleColumns(cols);
        float total = 0f;
        if (KsVector.IsAligned16(Codes, start) && KsVector.IsAligned16(x, xStart))
        {
            int chunks = cols / PerChunk;
            var packed = Codes.SubView(start, (long)PerChunk * chunks).AsAligned(16).Cast<PackedWords>(); // [chunks] of 16 e4m3
            for (int c = lane; c < chunks; c += lanes)
            {
                PackedWords w = packed[c];
                long column = (long)PerChunk * c;
                float scale = ScaleInv[scaleStart + column / Block];
                float sum = WordDot(w.A, x, xStart + column) + WordDot(w.B, x, xStart + column + 4)
                          + WordDot(w.C, x, xStart + column + 8) + WordDot(w.D, x, xStart + column + 12);
                total += sum * scale;
            }
            for (int i = chunks * PerChunk + lane; i < cols; i += lanes)
                total += Fp8E4M3.ToFloat(Codes[start + i]) * ScaleInv[scaleStart + i / Block] * x[xStart + i];
        }
        else
        {
            for (int i = lane; i < cols; i += lanes)
                total += Fp8E4M3.ToFloat(Codes[start + i]) * ScaleInv[scaleStart + i / Block] * x[xStart + i];
        }
        return total;
    }

    public readonly float RowDot(int row, int cols, ArrayView<float> x, long xStart) => StridedRowDot(row, cols, x, xStart, 0, 1);

    /// <summary>Each 128-value block decoded through a 256-entry table, then one TensorPrimitives dot per block (a scalar
    /// e4m3 decode per element would be several times slower).</summary>
    public readonly float RowDotCpu(int row, int cols, ArrayView<float> x, long xStart)
    {
        ReadOnlySpan<byte> codes = HostSpan.Of(Codes, (long)row * cols, cols);
        ReadOnlySpan<float> values = HostSpan.Of(x, xStart, cols);
        long scaleStart = (long)(row / Block) * ScaleColumns(cols);
        Span<float> decoded = stackalloc float[Block];
        float total = 0f;
        for (int start = 0, block = 0; start < cols; start += Block, block++)
        {
            int count = Math.Min(Block, cols - start);
            HostWiden.E4M3(codes.Slice(start, count), 1f, decoded);
            total += TensorPrimitives.Dot(decoded[..count], values.Slice(start, count)) * ScaleInv[scaleStart + block];
        }
        return total;
    }

    /// <summary>
    /// Rows decoded in registers with the block scales on the activations (<see cref="HostWiden.TryE4M3DotRows"/>), for
    /// <paramref name="rows"/> rows of one 128-row scale block; false where that form does not apply.
    /// </summary>
    public readonly bool TryRowsDotCpu(int firstRow, int rows, int cols, ArrayView<float> x, long xStart, Span<float> sums)
    {
        if (rows <= 0 || firstRow / Block != (firstRow + rows - 1) / Block)
            return false;
        return HostWiden.TryE4M3DotRows(HostSpan.Of(Codes, (long)firstRow * cols, checked(rows * cols)), cols, rows,
            ScaleRow(firstRow, cols), Block, HostSpan.Of(x, xStart, cols), sums);
    }

    /// <summary>The same form for several vectors (<see cref="HostWiden.TryE4M3DotItems"/>), the row decoded once.</summary>
    public readonly bool TryRowDotItemsCpu(int row, int cols, ArrayView<float> x, long xStart, int itemStride, int items, Span<float> sums)
    {
        return HostWiden.TryE4M3DotItems(HostSpan.Of(Codes, (long)row * cols, cols), cols, ScaleRow(row, cols), Block,
            HostSpan.Of(x, xStart, checked((items - 1) * itemStride + cols)), itemStride, items, sums);
    }

    private readonly ReadOnlySpan<float> ScaleRow(int row, int cols) =>
        HostSpan.Of(ScaleInv, (long)(row / Block) * ScaleColumns(cols), ScaleColumns(cols));

    /// <summary>Each 128-value block decoded and scaled with its block's scale.</summary>
    public readonly void WidenRowCpu(int row, int cols, Span<float> destination)
    {
        ReadOnlySpan<byte> codes = HostSpan.Of(Codes, (long)row * cols, cols);
        ReadOnlySpan<float> scales = ScaleRow(row, cols);
        for (int start = 0, block = 0; start < cols; start += Block, block++)
        {
            int count = Math.Min(Block, cols - start);
            HostWiden.E4M3(codes.Slice(start, count), scales[block], destination.Slice(start, count));
        }
    }

    /// <summary>NaN codes are OR-ed into a per-row flag word and turn that row's partial into NaN at the end (the decode
    /// itself skips the NaN test).</summary>
    public readonly ItemRowSums WarpRowPartials(int rows, int cols, ArrayView<float> x, ItemStarts xStarts, int items, int firstRow,
        int rowsPerWarp, int chunksInFlight, int lane, int lanes)
    {
        var rowIndices = WarpRows.Clamped(rows, firstRow);
        int scaleCols = ScaleColumns(cols);
        var scaleRows = new RowOffsets( // offset of each row's block row in ScaleInv
            (long)(rowIndices.Row0 / Block) * scaleCols, (long)(rowIndices.Row1 / Block) * scaleCols,
            (long)(rowIndices.Row2 / Block) * scaleCols, (long)(rowIndices.Row3 / Block) * scaleCols);
        if (cols % PerChunk != 0 || !KsVector.IsAligned16(Codes, 0) || !WarpRows.ItemsAligned16(x, xStarts, items))
            return ScalarItemPartials(scaleRows, cols, x, xStarts, items, rowIndices, rowsPerWarp, lane, lanes);

        var packed = Codes.SubView(0, Codes.Length / PerChunk * PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/16] of 16 e4m3
        int chunks = cols / PerChunk;
        var rowChunks = WarpRows.FirstChunks(rowIndices, chunks);
        var state = new Sums();
        int c = lane;
        for (; c + lanes * (chunksInFlight - 1) < chunks; c += lanes * chunksInFlight)
        {
            state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStarts, items, c, rowsPerWarp);
            if (chunksInFlight > 1)
                state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStarts, items, c + lanes, rowsPerWarp);
            if (chunksInFlight > 2)
            {
                state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStarts, items, c + 2 * lanes, rowsPerWarp);
                state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStarts, items, c + 3 * lanes, rowsPerWarp);
            }
        }
        for (; c < chunks; c += lanes)
            state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStarts, items, c, rowsPerWarp);

        var sums = state.Values;
        sums.Item0 = NaNIfFlagged(sums.Item0, state);
        sums.Item1 = NaNIfFlagged(sums.Item1, state);
        sums.Item2 = NaNIfFlagged(sums.Item2, state);
        sums.Item3 = NaNIfFlagged(sums.Item3, state);
        return sums;
    }

    /// <summary>Four little-endian e4m3 bytes of <paramref name="word"/> against x[start..start+3], decoded together
    /// (<see cref="Fp8E4M3.ToFloat4"/>: about half the integer work of four separate decodes).</summary>
    private static float WordDot(uint word, ArrayView<float> x, long start) =>
        Float4.Dot(Fp8E4M3.ToFloat4(word), KsVector.LoadFloat4(x, start));

    /// <summary>
    /// Chunk <paramref name="c"/> of each row, loaded (with its block scale) once, against 16 columns of each item's
    /// activations: per item and row an unscaled 16-term dot, then the block scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Sums AddChunk(Sums state, ArrayView<PackedWords> packed, ArrayView<float> scaleInv, RowOffsets scaleRows,
        RowOffsets rowChunks, ArrayView<float> x, ItemStarts xStarts, int items, int c, int rowsPerWarp)
    {
        int block = c / ChunksPerBlock;
        var chunk = new RowChunks();
        chunk.W0 = packed[rowChunks.Row0 + c];
        chunk.Scale0 = scaleInv[scaleRows.Row0 + block];
        state.NaN0 |= ChunkNaNFlags(chunk.W0);
        if (rowsPerWarp > 1)
        {
            chunk.W1 = packed[rowChunks.Row1 + c];
            chunk.Scale1 = scaleInv[scaleRows.Row1 + block];
            state.NaN1 |= ChunkNaNFlags(chunk.W1);
        }
        if (rowsPerWarp > 2)
        {
            chunk.W2 = packed[rowChunks.Row2 + c];
            chunk.W3 = packed[rowChunks.Row3 + c];
            chunk.Scale2 = scaleInv[scaleRows.Row2 + block];
            chunk.Scale3 = scaleInv[scaleRows.Row3 + block];
            state.NaN2 |= ChunkNaNFlags(chunk.W2);
            state.NaN3 |= ChunkNaNFlags(chunk.W3);
        }
        long column = (long)PerChunk * c;
        state.Values.Item0 = AddRows(state.Values.Item0, chunk, x, xStarts.Item0 + column, rowsPerWarp);
        if (items > 1)
            state.Values.Item1 = AddRows(state.Values.Item1, chunk, x, xStarts.Item1 + column, rowsPerWarp);
        if (items > 2)
        {
            state.Values.Item2 = AddRows(state.Values.Item2, chunk, x, xStarts.Item2 + column, rowsPerWarp);
            state.Values.Item3 = AddRows(state.Values.Item3, chunk, x, xStarts.Item3 + column, rowsPerWarp);
        }
        return state;
    }

    /// <summary>One item's running sums of the warp's rows plus this chunk (x[at … at + 15] loaded once for all rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float4 AddRows(Float4 sums, RowChunks chunk, ArrayView<float> x, long at, int rowsPerWarp)
    {
        Float4 x0 = KsVector.LoadFloat4(x, at);
        Float4 x1 = KsVector.LoadFloat4(x, at + 4);
        Float4 x2 = KsVector.LoadFloat4(x, at + 8);
        Float4 x3 = KsVector.LoadFloat4(x, at + 12);
        sums.X += ChunkDot(chunk.W0, x0, x1, x2, x3) * chunk.Scale0;
        if (rowsPerWarp > 1)
            sums.Y += ChunkDot(chunk.W1, x0, x1, x2, x3) * chunk.Scale1;
        if (rowsPerWarp > 2)
        {
            sums.Z += ChunkDot(chunk.W2, x0, x1, x2, x3) * chunk.Scale2;
            sums.W += ChunkDot(chunk.W3, x0, x1, x2, x3) * chunk.Scale3;
        }
        return sums;
    }

    /// <summary>16 e4m3 values (4 words, byte 0 first) against x[0..15], unscaled; NaN codes read as ±480 (flagged separately).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ChunkDot(PackedWords w, Float4 x0, Float4 x1, Float4 x2, Float4 x3) =>
        Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.A), x0) + Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.B), x1)
        + Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.C), x2) + Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.D), x3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ChunkNaNFlags(PackedWords w) =>
        Fp8E4M3.NaNFlags(w.A) | Fp8E4M3.NaNFlags(w.B) | Fp8E4M3.NaNFlags(w.C) | Fp8E4M3.NaNFlags(w.D);

    private static float NaNIfFlagged(float sum, uint flags) => (flags & Fp8E4M3.NaNFlagMask) != 0 ? float.NaN : sum;

    /// <summary>One item's sums with each flagged row's sum turned into NaN.</summary>
    private static Float4 NaNIfFlagged(Float4 sums, Sums state) => new(
        NaNIfFlagged(sums.X, state.NaN0), NaNIfFlagged(sums.Y, state.NaN1), NaNIfFlagged(sums.Z, state.NaN2), NaNIfFlagged(sums.W, state.NaN3));

    private readonly ItemRowSums ScalarItemPartials(RowOffsets scaleRows, int cols, ArrayView<float> x, ItemStarts xStarts, int items,
        RowIndices rows, int rowsPerWarp, int lane, int lanes)
    {
        var sums = new ItemRowSums();
        sums.Item0 = ScalarPartials(scaleRows, cols, x, xStarts.Item0, rows, rowsPerWarp, lane, lanes);
        if (items > 1)
            sums.Item1 = ScalarPartials(scaleRows, cols, x, xStarts.Item1, rows, rowsPerWarp, lane, lanes);
        if (items > 2)
        {
            sums.Item2 = ScalarPartials(scaleRows, cols, x, xStarts.Item2, rows, rowsPerWarp, lane, lanes);
            sums.Item3 = ScalarPartials(scaleRows, cols, x, xStarts.Item3, rows, rowsPerWarp, lane, lanes);
        }
        return sums;
    }

    /// <summary>Unaligned or ragged rows: lane k takes columns k, k + lanes, …; same sums, scalar loads.</summary>
    private readonly Float4 ScalarPartials(RowOffsets scaleRows, int cols, ArrayView<float> x, long xStart, RowIndices rows,
        int rowsPerWarp, int lane, int lanes)
    {
        var sums = new Float4(0f, 0f, 0f, 0f);
        for (int i = lane; i < cols; i += lanes)
        {
            float value = x[xStart + i];
            int block = i / Block;
            sums.X += Fp8E4M3.ToFloat(Codes[(long)rows.Row0 * cols + i]) * ScaleInv[scaleRows.Row0 + block] * value;
            if (rowsPerWarp > 1)
                sums.Y += Fp8E4M3.ToFloat(Codes[(long)rows.Row1 * cols + i]) * ScaleInv[scaleRows.Row1 + block] * value;
            if (rowsPerWarp > 2)
            {
                sums.Z += Fp8E4M3.ToFloat(Codes[(long)rows.Row2 * cols + i]) * ScaleInv[scaleRows.Row2 + block] * value;
                sums.W += Fp8E4M3.ToFloat(Codes[(long)rows.Row3 * cols + i]) * ScaleInv[scaleRows.Row3 + block] * value;
            }
        }
        return sums;
    }

    /// <summary>Running sums of up to four rows per item and, per row, the OR of <see cref="Fp8E4M3.NaNFlags"/> of every word read.</summary>
    private struct Sums
    {
        public ItemRowSums Values;
        public uint NaN0;
        public uint NaN1;
        public uint NaN2;
        public uint NaN3;
    }

    /// <summary>One chunk of each of a warp's rows with its block scale, shared by every item.</summary>
    private struct RowChunks
    {
        public PackedWords W0;
        public PackedWords W1;
        public PackedWords W2;
        public PackedWords W3;
        public float Scale0;
        public float Scale1;
        public float Scale2;
        public float Scale3;
    }

    // ---- ITensorCoreRows: the tensor-core GEMV's reads ----

    /// <summary>16 codes (one 16-byte load) in the first four words.</summary>
    public readonly Words8 LoadSixteen(int row, int cols, int col)
    {
        var chunks = Codes.SubView(0, Codes.Length / PerChunk * PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/16] of 16 e4m3
        return new Words8(chunks[((long)row * cols + col) / PerChunk], default);
    }

    /// <summary>Each e4m3 value as a float (<see cref="Fp8E4M3.ToFloat4IgnoringNaN"/>: NaN codes are caught by
    /// <see cref="NaNFlagsOf"/>), whose low 16 bits are zero, so its bf16 is its top half: exact, no rounding.</summary>
    public readonly Words8 Bf16Of(Words8 stored)
    {
        var result = new Words8();
        (result.W0, result.W1) = Bf16Pairs(stored.W0);
        (result.W2, result.W3) = Bf16Pairs(stored.W1);
        (result.W4, result.W5) = Bf16Pairs(stored.W2);
        (result.W6, result.W7) = Bf16Pairs(stored.W3);
        return result;
    }

    private static (uint Low, uint High) Bf16Pairs(uint codes)
    {
        Float4 values = Fp8E4M3.ToFloat4IgnoringNaN(codes);
        return ((Interop.FloatAsInt(values.X) >> 16) | (Interop.FloatAsInt(values.Y) & 0xFFFF_0000u),
            (Interop.FloatAsInt(values.Z) >> 16) | (Interop.FloatAsInt(values.W) & 0xFFFF_0000u));
    }

    public readonly uint NaNFlagsOf(Words8 stored) =>
        (Fp8E4M3.NaNFlags(stored.W0) | Fp8E4M3.NaNFlags(stored.W1) | Fp8E4M3.NaNFlags(stored.W2) | Fp8E4M3.NaNFlags(stored.W3))
        & Fp8E4M3.NaNFlagMask;

    public readonly bool UsesBlockScales() => true;

    public readonly float BlockScale(int row, int cols, int kBlock) => ScaleInv[(long)(row / Block) * ScaleColumns(cols) + kBlock];

    public readonly bool TensorCoreReadable(int cols) => cols > 0 && cols % Block == 0 && Codes.LoadEffectiveAddressAsPtr().ToInt64() % 16 == 0;

    // ---- ITensorCoreRows: the tensor-core GEMMs' tiles (codes into registers, then scaled bf16 into shared memory) ----

    public readonly bool TileRowsAligned16(int k) => TensorCoreGemmTiles.CanCopy16(Codes, k);

    /// <summary>Run <paramref name="thread"/> (and <c>thread + threads</c> when threads &lt; 2·tileRows) of the stage's
    /// 2·tileRows runs of 16 codes (<see cref="TensorCoreGemmTiles.LoadFp8Run"/>), in the low (high) four words, with the
    /// scale of each. The runs of threads 0 … threads − 1 cover threads / 2 rows from a multiple of threads / 2 (at most
    /// 128), so they share one scale block: one uniform load per run set (one in all when the two sets share a block),
    /// issued with the codes.</summary>
    public readonly FetchedTileRuns FetchTileStage(ArrayView<ushort> tile, int stageBase, int rows, int tileRows, int k, int rowStart, int k0,
        int thread, int threads, bool aligned)
    {
        var fetched = new FetchedTileRuns();
        var low = TensorCoreGemmTiles.LoadFp8Run(Codes, rows, k, rowStart, k0, thread, aligned);
        fetched.LowScale = RunSetScale(rows, k, rowStart, k0);
        var high = new Words4();
        if (threads < 2 * tileRows)
        {
            high = TensorCoreGemmTiles.LoadFp8Run(Codes, rows, k, rowStart, k0, thread + threads, aligned);
            // Both run sets in one block when the tile's first `threads` rows are (rowStart a multiple of threads ≤ 128).
            fetched.HighScale = threads <= Block ? fetched.LowScale : RunSetScale(rows, k, rowStart + threads / 2, k0);
        }
        fetched.Runs = new Words8 { W0 = low.X, W1 = low.Y, W2 = low.Z, W3 = low.W, W4 = high.X, W5 = high.Y, W6 = high.Z, W7 = high.W };
        return fetched;
    }

    public readonly void LandTileStage(ArrayView<ushort> tile, int stageBase, FetchedTileRuns fetched, int rows, int tileRows, int k, int rowStart,
        int k0, int thread, int threads)
    {
        var runs = fetched.Runs;
        TensorCoreGemmTiles.StoreFp8RunAsBf16(tile, stageBase, new Words4(runs.W0, runs.W1, runs.W2, runs.W3), fetched.LowScale, thread);
        if (threads < 2 * tileRows)
            TensorCoreGemmTiles.StoreFp8RunAsBf16(tile, stageBase, new Words4(runs.W4, runs.W5, runs.W6, runs.W7), fetched.HighScale, thread + threads);
    }

    /// <summary>The scale of the block holding row <paramref name="firstRow"/> (the last row's for a run set past the last
    /// row, whose codes read as zeros: the grid has no row beyond it) and columns k0 … k0 + 31.</summary>
    private readonly float RunSetScale(int rows, int k, int firstRow, int k0) =>
        ScaleInv[(long)(Math.Min(firstRow, rows - 1) / Block) * ScaleColumns(k) + k0 / Block];
}
