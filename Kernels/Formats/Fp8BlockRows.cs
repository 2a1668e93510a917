using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// fp8 e4m3 weights with DeepSeek's 128×128 block scales: W[r, c] = e4m3(r, c) · scaleInv[r / 128, c / 128]. A 16-byte
/// chunk (16 values) never straddles a scale block because 128 is a multiple of 16, so each chunk's 16 products are
/// summed unscaled and multiplied by the block scale once (fewer multiplies, same math).
/// </summary>
public struct Fp8BlockRows : IRowFormat<Fp8BlockRows>
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
            Fp8DecodeTable.Decode(codes.Slice(start, count), decoded);
            total += TensorPrimitives.Dot(decoded[..count], values.Slice(start, count)) * ScaleInv[scaleStart + block];
        }
        return total;
    }

    /// <summary>NaN codes are OR-ed into a per-row flag word and turn that row's partial into NaN at the end (the decode
    /// itself skips the NaN test).</summary>
    public readonly Float4 WarpRowPartials(int rows, int cols, ArrayView<float> x, long xStart, int firstRow, int rowsPerWarp,
        int chunksInFlight, int lane, int lanes)
    {
        var rowIndices = WarpRows.Clamped(rows, firstRow);
        int scaleCols = ScaleColumns(cols);
        var scaleRows = new RowOffsets( // offset of each row's block row in ScaleInv
            (long)(rowIndices.Row0 / Block) * scaleCols, (long)(rowIndices.Row1 / Block) * scaleCols,
            (long)(rowIndices.Row2 / Block) * scaleCols, (long)(rowIndices.Row3 / Block) * scaleCols);
        if (cols % PerChunk != 0 || !KsVector.IsAligned16(Codes, 0) || !KsVector.IsAligned16(x, xStart))
            return ScalarPartials(scaleRows, cols, x, xStart, rowIndices, rowsPerWarp, lane, lanes);

        var packed = Codes.SubView(0, Codes.Length / PerChunk * PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/16] of 16 e4m3
        int chunks = cols / PerChunk;
        var rowChunks = WarpRows.FirstChunks(rowIndices, chunks);
        var state = new Sums();
        int c = lane;
        for (; c + lanes * (chunksInFlight - 1) < chunks; c += lanes * chunksInFlight)
        {
            state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStart, c, rowsPerWarp);
            if (chunksInFlight > 1)
                state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStart, c + lanes, rowsPerWarp);
            if (chunksInFlight > 2)
            {
                state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStart, c + 2 * lanes, rowsPerWarp);
                state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStart, c + 3 * lanes, rowsPerWarp);
            }
        }
        for (; c < chunks; c += lanes)
            state = AddChunk(state, packed, ScaleInv, scaleRows, rowChunks, x, xStart, c, rowsPerWarp);

        var sums = state.Values;
        sums.X = NaNIfFlagged(sums.X, state.NaN0);
        sums.Y = NaNIfFlagged(sums.Y, state.NaN1);
        sums.Z = NaNIfFlagged(sums.Z, state.NaN2);
        sums.W = NaNIfFlagged(sums.W, state.NaN3);
        return sums;
    }

    /// <summary>Four little-endian e4m3 bytes of <paramref name="word"/> against x[start..start+3], decoded together
    /// (<see cref="Fp8E4M3.ToFloat4"/>: about half the integer work of four separate decodes).</summary>
    private static float WordDot(uint word, ArrayView<float> x, long start) =>
        Float4.Dot(Fp8E4M3.ToFloat4(word), KsVector.LoadFloat4(x, start));

    /// <summary>Chunk <paramref name="c"/> of each row against x[16 columns]: unscaled 16-term dot, then the block scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Sums AddChunk(Sums state, ArrayView<PackedWords> packed, ArrayView<float> scaleInv, RowOffsets scaleRows,
        RowOffsets rowChunks, ArrayView<float> x, long xStart, int c, int rowsPerWarp)
    {
        long column = (long)PerChunk * c;
        Float4 x0 = KsVector.LoadFloat4(x, xStart + column);
        Float4 x1 = KsVector.LoadFloat4(x, xStart + column + 4);
        Float4 x2 = KsVector.LoadFloat4(x, xStart + column + 8);
        Float4 x3 = KsVector.LoadFloat4(x, xStart + column + 12);
        int block = c / ChunksPerBlock;
        PackedWords w0 = packed[rowChunks.Row0 + c];
        state.Values.X += ChunkDot(w0, x0, x1, x2, x3) * scaleInv[scaleRows.Row0 + block];
        state.NaN0 |= ChunkNaNFlags(w0);
        if (rowsPerWarp > 1)
        {
            PackedWords w1 = packed[rowChunks.Row1 + c];
            state.Values.Y += ChunkDot(w1, x0, x1, x2, x3) * scaleInv[scaleRows.Row1 + block];
            state.NaN1 |= ChunkNaNFlags(w1);
        }
        if (rowsPerWarp > 2)
        {
            PackedWords w2 = packed[rowChunks.Row2 + c];
            PackedWords w3 = packed[rowChunks.Row3 + c];
            state.Values.Z += ChunkDot(w2, x0, x1, x2, x3) * scaleInv[scaleRows.Row2 + block];
            state.Values.W += ChunkDot(w3, x0, x1, x2, x3) * scaleInv[scaleRows.Row3 + block];
            state.NaN2 |= ChunkNaNFlags(w2);
            state.NaN3 |= ChunkNaNFlags(w3);
        }
        return state;
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

    /// <summary>Running sums of up to four rows and, per row, the OR of <see cref="Fp8E4M3.NaNFlags"/> of every word read.</summary>
    private struct Sums
    {
        public Float4 Values;
        public uint NaN0;
        public uint NaN1;
        public uint NaN2;
        public uint NaN3;
    }
}
