using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Kernels.Formats;

/// <summary>bf16 weights (raw bits, the upper half of an fp32), widened exactly as they are read.</summary>
public struct Bf16Rows : IRowFormat<Bf16Rows>, ITensorCoreRows<Bf16Rows>
{
    private const int PerChunk = 8; // bf16 values per 16-byte chunk

    /// <summary>[rows · cols] bf16 bits (a stack: [matrices · rows · cols]).</summary>
    public ArrayView<ushort> Bits;

    public Bf16Rows(ArrayView<ushort> bits) => Bits = bits;

    public readonly Bf16Rows Matrix(int index, int rows, int cols)
    {
        long length = (long)rows * cols;
        return new Bf16Rows(Bits.SubView(index * length, length));
    }

    public readonly float Element(int row, int cols, int col) => Bf16.ToFloat(Bits[(long)row * cols + col]);

    public readonly Float4 Elements4(int row, int cols, int col)
    {
        long start = (long)row * cols + col;
        return new Float4(Bf16.ToFloat(Bits[start]), Bf16.ToFloat(Bits[start + 1]), Bf16.ToFloat(Bits[start + 2]), Bf16.ToFloat(Bits[start + 3]));
    }

    /// <summary>No per-row scale: <paramref name="value"/> itself.</summary>
    public readonly float RowScaled(int row, float value) => value;

    /// <summary>Two words of two bf16 each (X: values 0–1, Y: values 2–3) as float bits.</summary>
    public readonly Float4 LoadUnscaled4(int row, int cols, int col)
    {
        var words = Bits.Cast<uint>(); // [rows · cols / 2]
        long word = ((long)row * cols + col) / 2;
        return new Float4(Interop.IntAsFloat(words[word]), Interop.IntAsFloat(words[word + 1]), 0f, 0f);
    }

    public readonly Float4 DecodeUnscaled4(Float4 loaded)
    {
        uint low = Interop.FloatAsInt(loaded.X);
        uint high = Interop.FloatAsInt(loaded.Y);
        return new Float4(WarpRows.LowBf16(low), WarpRows.HighBf16(low), WarpRows.LowBf16(high), WarpRows.HighBf16(high));
    }

    /// <summary>The GPU body on the host for now (these formats' strided dots are not on the generated CPU path's hot path).</summary>
    public readonly float StridedRowDotCpu(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes) =>
        StridedRowDot(row, cols, x, xStart, lane, lanes);

    public readonly float StridedRowDot(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes)
    {
        long start = (long)row * cols;
        float total = 0f;
        if (KsVector.IsAligned16(Bits, start) && KsVector.IsAligned16(x, xStart))
        {
            int chunks = cols / PerChunk;
            var packed = Bits.SubView(start, (long)PerChunk * chunks).AsAligned(16).Cast<PackedWords>(); // [chunks] of 8 bf16
            for (int c = lane; c < chunks; c += lanes)
            {
                Float4 x0 = KsVector.LoadFloat4(x, xStart + PerChunk * (long)c);
                Float4 x1 = KsVector.LoadFloat4(x, xStart + PerChunk * (long)c + 4);
                total += WarpRows.Bf16ChunkDot(packed[c], x0, x1);
            }
            for (int i = chunks * PerChunk + lane; i < cols; i += lanes)
                total += Bf16.ToFloat(Bits[start + i]) * x[xStart + i];
        }
        else
        {
            for (int i = lane; i < cols; i += lanes)
                total += Bf16.ToFloat(Bits[start + i]) * x[xStart + i];
        }
        return total;
    }

    public readonly float RowDot(int row, int cols, ArrayView<float> x, long xStart) => KsVector.DotBf16(Bits, (long)row * cols, x, xStart, cols);

    public readonly float RowDotCpu(int row, int cols, ArrayView<float> x, long xStart) =>
        KsVectorCpu.DotBf16Cpu(Bits, (long)row * cols, x, xStart, cols);

    /// <summary>sums[r] = <see cref="RowDotCpu"/> of row <paramref name="firstRow"/> + r, the same bits, rows streamed in
    /// pairs; that is the order the host GEMV takes over a widened bf16 row.</summary>
    public readonly bool TryRowsDotCpu(int firstRow, int rows, int cols, ArrayView<float> x, long xStart, Span<float> sums)
    {
        KsVectorCpu.DotBf16RowsCpu(Bits, (long)firstRow * cols, rows, x, xStart, cols, sums);
        return true;
    }

    /// <summary>False: several vectors go through the widened row, whose order is already <see cref="TryRowsDotCpu"/>'s.</summary>
    public readonly bool TryRowDotItemsCpu(int row, int cols, ArrayView<float> x, long xStart, int itemStride, int items, Span<float> sums) =>
        false;

    public readonly void WidenRowCpu(int row, int cols, Span<float> destination) =>
        HostWiden.Bf16(HostSpan.Of(Bits, (long)row * cols, cols), destination);

    public readonly ItemRowSums WarpRowPartials(int rows, int cols, ArrayView<float> x, ItemStarts xStarts, int items, int firstRow,
        int rowsPerWarp, int chunksInFlight, int lane, int lanes)
    {
        var rowIndices = WarpRows.Clamped(rows, firstRow);
        if (cols % PerChunk != 0 || !KsVector.IsAligned16(Bits, 0) || !WarpRows.ItemsAligned16(x, xStarts, items))
            return WarpRows.ScalarItemPartials(this, cols, x, xStarts, items, rowIndices, rowsPerWarp, lane, lanes);

        var packed = Bits.SubView(0, Bits.Length / PerChunk * PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/8] of 8 bf16
        int chunks = cols / PerChunk;
        var rowChunks = WarpRows.FirstChunks(rowIndices, chunks);
        var sums = new ItemRowSums();
        int c = lane;
        for (; c + lanes * (chunksInFlight - 1) < chunks; c += lanes * chunksInFlight)
        {
            sums = AddChunk(sums, packed, rowChunks, x, xStarts, items, c, rowsPerWarp);
            if (chunksInFlight > 1)
                sums = AddChunk(sums, packed, rowChunks, x, xStarts, items, c + lanes, rowsPerWarp);
            if (chunksInFlight > 2)
            {
                sums = AddChunk(sums, packed, rowChunks, x, xStarts, items, c + 2 * lanes, rowsPerWarp);
                sums = AddChunk(sums, packed, rowChunks, x, xStarts, items, c + 3 * lanes, rowsPerWarp);
            }
        }
        for (; c < chunks; c += lanes)
            sums = AddChunk(sums, packed, rowChunks, x, xStarts, items, c, rowsPerWarp);
        return sums;
    }

    /// <summary>Chunk <paramref name="c"/> of each row, loaded once, against chunk c of each item's activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ItemRowSums AddChunk(ItemRowSums sums, ArrayView<PackedWords> packed, RowOffsets rowChunks, ArrayView<float> x,
        ItemStarts xStarts, int items, int c, int rowsPerWarp)
    {
        PackedWords w0 = packed[rowChunks.Row0 + c];
        PackedWords w1 = rowsPerWarp > 1 ? packed[rowChunks.Row1 + c] : w0;
        PackedWords w2 = rowsPerWarp > 2 ? packed[rowChunks.Row2 + c] : w0;
        PackedWords w3 = rowsPerWarp > 2 ? packed[rowChunks.Row3 + c] : w0;
        long column = (long)PerChunk * c;
        sums.Item0 = AddRows(sums.Item0, w0, w1, w2, w3, x, xStarts.Item0 + column, rowsPerWarp);
        if (items > 1)
            sums.Item1 = AddRows(sums.Item1, w0, w1, w2, w3, x, xStarts.Item1 + column, rowsPerWarp);
        if (items > 2)
        {
            sums.Item2 = AddRows(sums.Item2, w0, w1, w2, w3, x, xStarts.Item2 + column, rowsPerWarp);
            sums.Item3 = AddRows(sums.Item3, w0, w1, w2, w3, x, xStarts.Item3 + column, rowsPerWarp);
        }
        return sums;
    }

    /// <summary>One item's running sums of the warp's rows plus this chunk (x[at … at + 7] loaded once for all rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float4 AddRows(Float4 sums, PackedWords w0, PackedWords w1, PackedWords w2, PackedWords w3, ArrayView<float> x,
        long at, int rowsPerWarp)
    {
        Float4 x0 = KsVector.LoadFloat4(x, at);
        Float4 x1 = KsVector.LoadFloat4(x, at + 4);
        sums.X += WarpRows.Bf16ChunkDot(w0, x0, x1);
        if (rowsPerWarp > 1)
            sums.Y += WarpRows.Bf16ChunkDot(w1, x0, x1);
        if (rowsPerWarp > 2)
        {
            sums.Z += WarpRows.Bf16ChunkDot(w2, x0, x1);
            sums.W += WarpRows.Bf16ChunkDot(w3, x0, x1);
        }
        return sums;
    }

    // ---- ITensorCoreRows: the tensor-core GEMV's reads (bf16 is what the tensor cores take: nothing to decode) ----

    public readonly Words8 LoadSixteen(int row, int cols, int col)
    {
        var chunks = Bits.SubView(0, Bits.Length / PerChunk * PerChunk).AsAligned(16).Cast<PackedWords>(); // [rows·cols/8] of 8 bf16
        long chunk = ((long)row * cols + col) / PerChunk;
        return new Words8(chunks[chunk], chunks[chunk + 1]);
    }

    public readonly Words8 Bf16Of(Words8 stored) => stored;

    public readonly uint NaNFlagsOf(Words8 stored) => 0u;

    public readonly bool UsesBlockScales() => false;

    public readonly float BlockScale(int row, int cols, int kBlock) => 1f;

    public readonly bool TensorCoreReadable(int cols) =>
        cols > 0 && cols % 128 == 0 && Bits.LoadEffectiveAddressAsPtr().ToInt64() % 16 == 0; // the address, on the host: no kernel-side AlignTo

    // ---- ITensorCoreRows: the tensor-core GEMMs' tiles (bf16 goes to shared memory as stored, by cp.async) ----

    public readonly bool TileRowsAligned16(int k) => TensorCoreGemmTiles.CanCopy16(Bits, k);

    public readonly FetchedTileRuns FetchTileStage(ArrayView<ushort> tile, int stageBase, int rows, int tileRows, int k, int rowStart, int k0,
        int thread, int threads, bool aligned)
    {
        TensorCoreGemmWideTiles.LoadBf16Tile(Bits, tile, stageBase, rows, tileRows, k, rowStart, k0, thread, threads, aligned);
        return default;
    }

    /// <summary>Nothing: the copies land with the caller's cp.async wait.</summary>
    public readonly void LandTileStage(ArrayView<ushort> tile, int stageBase, FetchedTileRuns fetched, int rows, int tileRows, int k, int rowStart,
        int k0, int thread, int threads)
    {
    }
}
