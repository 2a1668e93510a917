using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// One thread's share of <see cref="GemvKernels.GemvBf16Rows"/> / <see cref="GemvKernels.GemvFp8Rows"/>: up to four rows
/// (X, Y, Z, W of the returned partial sums) that thread k of the <c>lanes</c> sharing them (32 · warpsPerRow) walks at
/// 16-byte chunks k, k+lanes, k+2·lanes, … so each warp reads 512 consecutive bytes of each row per chunk (coalesced). <c>rowsPerWarp</c> and <c>chunksInFlight</c> are [Constant]s
/// of the kernels: once ILGPU inlines these methods the <c>if (rowsPerWarp &gt; 1)</c> tests fold away and every step is
/// one straight block of <c>rowsPerWarp · chunksInFlight</c> independent 16-byte loads that ptxas can issue together.
/// Rows past the end are read as the last row (valid memory, uniform control flow); the kernels do not write them.
/// </summary>
public static class GemvWarpRows
{
    /// <summary>Warps per 128-thread group; each owns its own rows.</summary>
    public const int WarpsPerGroup = 4;

    private const int Bf16PerChunk = 8;
    private const int Fp8PerChunk = 16;
    private const int Fp8ChunksPerBlock = GemvRowParts.Fp8Block / Fp8PerChunk;

    /// <summary>Component <paramref name="j"/> (0..3) of <paramref name="v"/>; j is a constant in every variant, so this folds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Component(Float4 v, int j) => j == 0 ? v.X : j == 1 ? v.Y : j == 2 ? v.Z : v.W;

    /// <summary>
    /// Row <paramref name="localRow"/> of the group's rows: the sum of the warp sums of the <paramref name="warpsPerRow"/>
    /// warps that shared it (warpSums[warp, j] for the row's slot j), written unless the row is past the end.
    /// </summary>
    public static void StoreRow(ArrayView<float> warpSums, ArrayView<float> output, long outputStart, int groupFirstRow, int rows,
        int localRow, int rowsPerWarp, int warpsPerRow) // warpSums: [4 warps, 4 rows], shared; output: [batch, rows]
    {
        int firstWarp = localRow / rowsPerWarp * warpsPerRow;
        int slot = localRow % rowsPerWarp;
        float sum = 0f;
        for (int s = 0; s < warpsPerRow; s++)
            sum += warpSums[(firstWarp + s) * 4 + slot];
        int row = groupFirstRow + localRow;
        if (row < rows)
            output[outputStart + row] = sum;
    }

    /// <summary>Partial sums of rows firstRow..firstRow+rowsPerWarp-1 (bf16 weights) over this lane's chunks.</summary>
    public static Float4 Bf16Partials(ArrayView<ushort> weight, ArrayView<float> input, long inputStart,
        int rows, int cols, int firstRow, int rowsPerWarp, int chunksInFlight, int lane, int lanes)
    {
        var rowIndices = ClampedRows(rows, firstRow);
        if (cols % Bf16PerChunk != 0 || !KsVector.IsAligned16(weight, 0) || !KsVector.IsAligned16(input, inputStart))
            return ScalarBf16(weight, input, inputStart, cols, rowIndices, rowsPerWarp, lane, lanes);

        var packed = weight.SubView(0, weight.Length / Bf16PerChunk * Bf16PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/8] of 8 bf16
        int chunks = cols / Bf16PerChunk;
        var rowChunks = FirstChunks(rowIndices, chunks);
        var sums = new Float4(0f, 0f, 0f, 0f);
        int c = lane;
        for (; c + lanes * (chunksInFlight - 1) < chunks; c += lanes * chunksInFlight)
        {
            sums = AddBf16Chunk(sums, packed, rowChunks, input, inputStart, c, rowsPerWarp);
            if (chunksInFlight > 1)
                sums = AddBf16Chunk(sums, packed, rowChunks, input, inputStart, c + lanes, rowsPerWarp);
            if (chunksInFlight > 2)
            {
                sums = AddBf16Chunk(sums, packed, rowChunks, input, inputStart, c + 2 * lanes, rowsPerWarp);
                sums = AddBf16Chunk(sums, packed, rowChunks, input, inputStart, c + 3 * lanes, rowsPerWarp);
            }
        }
        for (; c < chunks; c += lanes)
            sums = AddBf16Chunk(sums, packed, rowChunks, input, inputStart, c, rowsPerWarp);
        return sums;
    }

    /// <summary>
    /// Partial sums of rows firstRow..firstRow+rowsPerWarp-1 (fp8 weights, 128×128 block scales) over this lane's chunks.
    /// Each chunk's 16 products are summed unscaled and multiplied by the block scale once. NaN codes are OR-ed into a
    /// per-row flag word and turn that row's partial into NaN at the end (the decode itself skips the NaN test).
    /// </summary>
    public static Float4 Fp8Partials(ArrayView<byte> weight, ArrayView<float> scaleInv, ArrayView<float> input, long inputStart,
        int rows, int cols, int firstRow, int rowsPerWarp, int chunksInFlight, int lane, int lanes)
    {
        var rowIndices = ClampedRows(rows, firstRow);
        int scaleCols = (cols + GemvRowParts.Fp8Block - 1) / GemvRowParts.Fp8Block;
        var scaleRows = new RowOffsets( // offset of each row's block row in scaleInv
            (long)(rowIndices.Row0 / GemvRowParts.Fp8Block) * scaleCols, (long)(rowIndices.Row1 / GemvRowParts.Fp8Block) * scaleCols,
            (long)(rowIndices.Row2 / GemvRowParts.Fp8Block) * scaleCols, (long)(rowIndices.Row3 / GemvRowParts.Fp8Block) * scaleCols);
        if (cols % Fp8PerChunk != 0 || !KsVector.IsAligned16(weight, 0) || !KsVector.IsAligned16(input, inputStart))
            return ScalarFp8(weight, scaleInv, scaleRows, input, inputStart, cols, rowIndices, rowsPerWarp, lane, lanes);

        var packed = weight.SubView(0, weight.Length / Fp8PerChunk * Fp8PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/16] of 16 e4m3
        int chunks = cols / Fp8PerChunk;
        var rowChunks = FirstChunks(rowIndices, chunks);
        var state = new Fp8Sums();
        int c = lane;
        for (; c + lanes * (chunksInFlight - 1) < chunks; c += lanes * chunksInFlight)
        {
            state = AddFp8Chunk(state, packed, scaleInv, scaleRows, rowChunks, input, inputStart, c, rowsPerWarp);
            if (chunksInFlight > 1)
                state = AddFp8Chunk(state, packed, scaleInv, scaleRows, rowChunks, input, inputStart, c + lanes, rowsPerWarp);
            if (chunksInFlight > 2)
            {
                state = AddFp8Chunk(state, packed, scaleInv, scaleRows, rowChunks, input, inputStart, c + 2 * lanes, rowsPerWarp);
                state = AddFp8Chunk(state, packed, scaleInv, scaleRows, rowChunks, input, inputStart, c + 3 * lanes, rowsPerWarp);
            }
        }
        for (; c < chunks; c += lanes)
            state = AddFp8Chunk(state, packed, scaleInv, scaleRows, rowChunks, input, inputStart, c, rowsPerWarp);

        var sums = state.Sums;
        sums.X = NaNIfFlagged(sums.X, state.NaN0);
        sums.Y = NaNIfFlagged(sums.Y, state.NaN1);
        sums.Z = NaNIfFlagged(sums.Z, state.NaN2);
        sums.W = NaNIfFlagged(sums.W, state.NaN3);
        return sums;
    }

    /// <summary>The four row indices a warp starting at <paramref name="firstRow"/> reads, clamped to the last row.</summary>
    private static RowIndices ClampedRows(int rows, int firstRow)
    {
        int last = rows - 1;
        return new RowIndices(
            firstRow < last ? firstRow : last,
            firstRow + 1 < last ? firstRow + 1 : last,
            firstRow + 2 < last ? firstRow + 2 : last,
            firstRow + 3 < last ? firstRow + 3 : last);
    }

    /// <summary>Index of each row's first 16-byte chunk in the packed weight view, computed once outside the chunk loop.</summary>
    private static RowOffsets FirstChunks(RowIndices rows, int chunksPerRow) =>
        new((long)rows.Row0 * chunksPerRow, (long)rows.Row1 * chunksPerRow, (long)rows.Row2 * chunksPerRow, (long)rows.Row3 * chunksPerRow);

    /// <summary>Chunk <paramref name="c"/> of each row against x[16-byte chunk c]: the activations are loaded once for all rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float4 AddBf16Chunk(Float4 sums, ArrayView<PackedWords> packed, RowOffsets rowChunks, ArrayView<float> input,
        long inputStart, int c, int rowsPerWarp)
    {
        long column = (long)Bf16PerChunk * c;
        Float4 x0 = KsVector.LoadFloat4(input, inputStart + column);
        Float4 x1 = KsVector.LoadFloat4(input, inputStart + column + 4);
        sums.X += Bf16ChunkDot(packed[rowChunks.Row0 + c], x0, x1);
        if (rowsPerWarp > 1)
            sums.Y += Bf16ChunkDot(packed[rowChunks.Row1 + c], x0, x1);
        if (rowsPerWarp > 2)
        {
            sums.Z += Bf16ChunkDot(packed[rowChunks.Row2 + c], x0, x1);
            sums.W += Bf16ChunkDot(packed[rowChunks.Row3 + c], x0, x1);
        }
        return sums;
    }

    /// <summary>Chunk <paramref name="c"/> of each row against x[16 columns]: unscaled 16-term dot, then the block scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Fp8Sums AddFp8Chunk(Fp8Sums state, ArrayView<PackedWords> packed, ArrayView<float> scaleInv, RowOffsets scaleRows,
        RowOffsets rowChunks, ArrayView<float> input, long inputStart, int c, int rowsPerWarp)
    {
        long column = (long)Fp8PerChunk * c;
        Float4 x0 = KsVector.LoadFloat4(input, inputStart + column);
        Float4 x1 = KsVector.LoadFloat4(input, inputStart + column + 4);
        Float4 x2 = KsVector.LoadFloat4(input, inputStart + column + 8);
        Float4 x3 = KsVector.LoadFloat4(input, inputStart + column + 12);
        int block = c / Fp8ChunksPerBlock;
        PackedWords w0 = packed[rowChunks.Row0 + c];
        state.Sums.X += Fp8ChunkDot(w0, x0, x1, x2, x3) * scaleInv[scaleRows.Row0 + block];
        state.NaN0 |= Fp8ChunkNaNFlags(w0);
        if (rowsPerWarp > 1)
        {
            PackedWords w1 = packed[rowChunks.Row1 + c];
            state.Sums.Y += Fp8ChunkDot(w1, x0, x1, x2, x3) * scaleInv[scaleRows.Row1 + block];
            state.NaN1 |= Fp8ChunkNaNFlags(w1);
        }
        if (rowsPerWarp > 2)
        {
            PackedWords w2 = packed[rowChunks.Row2 + c];
            PackedWords w3 = packed[rowChunks.Row3 + c];
            state.Sums.Z += Fp8ChunkDot(w2, x0, x1, x2, x3) * scaleInv[scaleRows.Row2 + block];
            state.Sums.W += Fp8ChunkDot(w3, x0, x1, x2, x3) * scaleInv[scaleRows.Row3 + block];
            state.NaN2 |= Fp8ChunkNaNFlags(w2);
            state.NaN3 |= Fp8ChunkNaNFlags(w3);
        }
        return state;
    }

    /// <summary>8 bf16 values (4 words, low half first) against x[0..7].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Bf16ChunkDot(PackedWords w, Float4 x0, Float4 x1) =>
        LowBf16(w.A) * x0.X + HighBf16(w.A) * x0.Y + LowBf16(w.B) * x0.Z + HighBf16(w.B) * x0.W
        + LowBf16(w.C) * x1.X + HighBf16(w.C) * x1.Y + LowBf16(w.D) * x1.Z + HighBf16(w.D) * x1.W;

    /// <summary>16 e4m3 values (4 words, byte 0 first) against x[0..15], unscaled; NaN codes read as ±480 (flagged separately).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fp8ChunkDot(PackedWords w, Float4 x0, Float4 x1, Float4 x2, Float4 x3) =>
        Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.A), x0) + Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.B), x1)
        + Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.C), x2) + Float4.Dot(Fp8E4M3.ToFloat4IgnoringNaN(w.D), x3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Fp8ChunkNaNFlags(PackedWords w) =>
        Fp8E4M3.NaNFlags(w.A) | Fp8E4M3.NaNFlags(w.B) | Fp8E4M3.NaNFlags(w.C) | Fp8E4M3.NaNFlags(w.D);

    private static float NaNIfFlagged(float sum, uint flags) => (flags & Fp8E4M3.NaNFlagMask) != 0 ? float.NaN : sum;

    /// <summary>Unaligned or ragged rows: lane k takes columns k, k+32, …; same sums, scalar loads.</summary>
    private static Float4 ScalarBf16(ArrayView<ushort> weight, ArrayView<float> input, long inputStart, int cols,
        RowIndices rows, int rowsPerWarp, int lane, int lanes)
    {
        var sums = new Float4(0f, 0f, 0f, 0f);
        for (int i = lane; i < cols; i += lanes)
        {
            float x = input[inputStart + i];
            sums.X += Bf16.ToFloat(weight[(long)rows.Row0 * cols + i]) * x;
            if (rowsPerWarp > 1)
                sums.Y += Bf16.ToFloat(weight[(long)rows.Row1 * cols + i]) * x;
            if (rowsPerWarp > 2)
            {
                sums.Z += Bf16.ToFloat(weight[(long)rows.Row2 * cols + i]) * x;
                sums.W += Bf16.ToFloat(weight[(long)rows.Row3 * cols + i]) * x;
            }
        }
        return sums;
    }

    /// <inheritdoc cref="ScalarBf16"/>
    private static Float4 ScalarFp8(ArrayView<byte> weight, ArrayView<float> scaleInv, RowOffsets scaleRows, ArrayView<float> input,
        long inputStart, int cols, RowIndices rows, int rowsPerWarp, int lane, int lanes)
    {
        var sums = new Float4(0f, 0f, 0f, 0f);
        for (int i = lane; i < cols; i += lanes)
        {
            float x = input[inputStart + i];
            int block = i / GemvRowParts.Fp8Block;
            sums.X += Fp8E4M3.ToFloat(weight[(long)rows.Row0 * cols + i]) * scaleInv[scaleRows.Row0 + block] * x;
            if (rowsPerWarp > 1)
                sums.Y += Fp8E4M3.ToFloat(weight[(long)rows.Row1 * cols + i]) * scaleInv[scaleRows.Row1 + block] * x;
            if (rowsPerWarp > 2)
            {
                sums.Z += Fp8E4M3.ToFloat(weight[(long)rows.Row2 * cols + i]) * scaleInv[scaleRows.Row2 + block] * x;
                sums.W += Fp8E4M3.ToFloat(weight[(long)rows.Row3 * cols + i]) * scaleInv[scaleRows.Row3 + block] * x;
            }
        }
        return sums;
    }

    private static float LowBf16(uint word) => Interop.IntAsFloat(word << 16);

    private static float HighBf16(uint word) => Interop.IntAsFloat(word & 0xFFFF_0000u);

    /// <summary>The (clamped) weight rows of a warp.</summary>
    private readonly struct RowIndices(int row0, int row1, int row2, int row3)
    {
        public readonly int Row0 = row0;
        public readonly int Row1 = row1;
        public readonly int Row2 = row2;
        public readonly int Row3 = row3;
    }

    /// <summary>A per-row offset into a buffer (the row's first chunk in the weight, its block row in scaleInv).</summary>
    private readonly struct RowOffsets(long row0, long row1, long row2, long row3)
    {
        public readonly long Row0 = row0;
        public readonly long Row1 = row1;
        public readonly long Row2 = row2;
        public readonly long Row3 = row3;
    }

    /// <summary>Running fp8 sums of up to four rows and, per row, the OR of <see cref="Fp8E4M3.NaNFlags"/> of every word read.</summary>
    private struct Fp8Sums
    {
        public Float4 Sums;
        public uint NaN0;
        public uint NaN1;
        public uint NaN2;
        public uint NaN3;
    }
}
