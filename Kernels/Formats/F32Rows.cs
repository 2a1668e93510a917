using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>fp32 weights (dequantized at load, or a checkpoint stored in fp32).</summary>
public struct F32Rows : IRowFormat<F32Rows>
{
    private const int PerChunk = 4; // floats per 16-byte chunk

    /// <summary>[rows · cols] (a stack: [matrices · rows · cols]).</summary>
    public ArrayView<float> Values;

    public F32Rows(ArrayView<float> values) => Values = values;

    public readonly F32Rows Matrix(int index, int rows, int cols)
    {
        long length = (long)rows * cols;
        return new F32Rows(Values.SubView(index * length, length));
    }

    public readonly float Element(int row, int cols, int col) => Values[(long)row * cols + col];

    public readonly Float4 Elements4(int row, int cols, int col) => KsVector.LoadFloat4(Values, (long)row * cols + col);

    /// <summary>No per-row scale: <paramref name="value"/> itself.</summary>
    public readonly float RowScaled(int row, float value) => value;

    /// <summary>The values themselves (16-byte load): nothing is left to decode.</summary>
    public readonly Float4 LoadUnscaled4(int row, int cols, int col) => Elements4(row, cols, col);

    public readonly Float4 DecodeUnscaled4(Float4 loaded) => loaded;

    public readonly float StridedRowDot(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes)
    {
        long start = (long)row * cols;
        float total = 0f;
        // 16-byte loads need both rows to start on a 16-byte boundary (for whole buffers: row length a multiple of 4).
        if (KsVector.IsAligned16(Values, start) && KsVector.IsAligned16(x, xStart))
        {
            int chunks = cols / PerChunk;
            for (int c = lane; c < chunks; c += lanes)
            {
                Float4 w = KsVector.LoadFloat4(Values, start + PerChunk * (long)c);
                Float4 v = KsVector.LoadFloat4(x, xStart + PerChunk * (long)c);
                total += Float4.Dot(w, v);
            }
            for (int i = chunks * PerChunk + lane; i < cols; i += lanes)
                total += Values[start + i] * x[xStart + i];
        }
        else
        {
            for (int i = lane; i < cols; i += lanes)
                total += Values[start + i] * x[xStart + i];
        }
        return total;
    }

    /// <summary>The aligned path's share on the host: chunks lane, lane + lanes, … of 4 values, then the ragged tail.</summary>
    public readonly float StridedRowDotCpu(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes)
    {
        ReadOnlySpan<float> w = HostSpan.Of(Values, (long)row * cols, cols);
        ReadOnlySpan<float> v = HostSpan.Of(x, xStart, cols);
        if (lanes == 1)
            return System.Numerics.Tensors.TensorPrimitives.Dot(w, v);
        float total = 0f;
        int chunks = cols / PerChunk;
        for (int c = lane; c < chunks; c += lanes)
        {
            int i = PerChunk * c;
            total += w[i] * v[i] + w[i + 1] * v[i + 1] + w[i + 2] * v[i + 2] + w[i + 3] * v[i + 3];
        }
        for (int i = chunks * PerChunk + lane; i < cols; i += lanes)
            total += w[i] * v[i];
        return total;
    }

    public readonly float RowDot(int row, int cols, ArrayView<float> x, long xStart) => KsVector.Dot(Values, (long)row * cols, x, xStart, cols);

    public readonly float RowDotCpu(int row, int cols, ArrayView<float> x, long xStart) =>
        KsVectorCpu.DotCpu(Values, (long)row * cols, x, xStart, cols);

    public readonly bool TryRowsDotCpu(int firstRow, int rows, int cols, ArrayView<float> x, long xStart, Span<float> sums) => false;

    public readonly bool TryRowDotItemsCpu(int row, int cols, ArrayView<float> x, long xStart, int itemStride, int items, Span<float> sums) =>
        false;

    public readonly void WidenRowCpu(int row, int cols, Span<float> destination) =>
        HostSpan.Of(Values, (long)row * cols, cols).CopyTo(destination);

    public readonly ItemRowSums WarpRowPartials(int rows, int cols, ArrayView<float> x, ItemStarts xStarts, int items, int firstRow,
        int rowsPerWarp, int chunksInFlight, int lane, int lanes)
    {
        var rowIndices = WarpRows.Clamped(rows, firstRow);
        if (cols % PerChunk != 0 || !KsVector.IsAligned16(Values, 0) || !WarpRows.ItemsAligned16(x, xStarts, items))
            return WarpRows.ScalarItemPartials(this, cols, x, xStarts, items, rowIndices, rowsPerWarp, lane, lanes);

        int chunks = cols / PerChunk;
        var rowStarts = WarpRows.FirstChunks(rowIndices, chunks); // in chunks
        var sums = new ItemRowSums();
        int c = lane;
        for (; c + lanes * (chunksInFlight - 1) < chunks; c += lanes * chunksInFlight)
        {
            sums = AddChunk(sums, rowStarts, x, xStarts, items, c, rowsPerWarp);
            if (chunksInFlight > 1)
                sums = AddChunk(sums, rowStarts, x, xStarts, items, c + lanes, rowsPerWarp);
            if (chunksInFlight > 2)
            {
                sums = AddChunk(sums, rowStarts, x, xStarts, items, c + 2 * lanes, rowsPerWarp);
                sums = AddChunk(sums, rowStarts, x, xStarts, items, c + 3 * lanes, rowsPerWarp);
            }
        }
        for (; c < chunks; c += lanes)
            sums = AddChunk(sums, rowStarts, x, xStarts, items, c, rowsPerWarp);
        return sums;
    }

    /// <summary>Chunk <paramref name="c"/> of each row, loaded once, against chunk c of each item's activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ItemRowSums AddChunk(ItemRowSums sums, RowOffsets rowChunks, ArrayView<float> x, ItemStarts xStarts, int items,
        int c, int rowsPerWarp)
    {
        Float4 w0 = KsVector.LoadFloat4(Values, PerChunk * (rowChunks.Row0 + c));
        Float4 w1 = rowsPerWarp > 1 ? KsVector.LoadFloat4(Values, PerChunk * (rowChunks.Row1 + c)) : w0;
        Float4 w2 = rowsPerWarp > 2 ? KsVector.LoadFloat4(Values, PerChunk * (rowChunks.Row2 + c)) : w0;
        Float4 w3 = rowsPerWarp > 2 ? KsVector.LoadFloat4(Values, PerChunk * (rowChunks.Row3 + c)) : w0;
        long column = PerChunk * (long)c;
        sums.Item0 = AddRows(sums.Item0, w0, w1, w2, w3, KsVector.LoadFloat4(x, xStarts.Item0 + column), rowsPerWarp);
        if (items > 1)
            sums.Item1 = AddRows(sums.Item1, w0, w1, w2, w3, KsVector.LoadFloat4(x, xStarts.Item1 + column), rowsPerWarp);
        if (items > 2)
        {
            sums.Item2 = AddRows(sums.Item2, w0, w1, w2, w3, KsVector.LoadFloat4(x, xStarts.Item2 + column), rowsPerWarp);
            sums.Item3 = AddRows(sums.Item3, w0, w1, w2, w3, KsVector.LoadFloat4(x, xStarts.Item3 + column), rowsPerWarp);
        }
        return sums;
    }

    /// <summary>One item's running sums of the warp's rows plus this chunk (the activations loaded once for all rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float4 AddRows(Float4 sums, Float4 w0, Float4 w1, Float4 w2, Float4 w3, Float4 v, int rowsPerWarp)
    {
        sums.X += Float4.Dot(w0, v);
        if (rowsPerWarp > 1)
            sums.Y += Float4.Dot(w1, v);
        if (rowsPerWarp > 2)
        {
            sums.Z += Float4.Dot(w2, v);
            sums.W += Float4.Dot(w3, v);
        }
        return sums;
    }
}
