using System.Runtime.CompilerServices;
using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// Row bookkeeping shared by the formats' <see cref="IRowFormat{TSelf}.WarpRowPartials"/>: a warp's (up to) four rows,
/// clamped to the last row so every lane reads valid memory with uniform control flow, and per-row offsets computed
/// once outside the chunk loop. <c>rowsPerWarp</c> and <c>chunksInFlight</c> are kernel constants, so once ILGPU
/// inlines these the <c>if (rowsPerWarp &gt; 1)</c> tests fold away.
/// </summary>
internal static class WarpRows
{
    /// <summary>The four row indices a warp starting at <paramref name="firstRow"/> reads, clamped to the last row.</summary>
    public static RowIndices Clamped(int rows, int firstRow)
    {
        int last = rows - 1;
        return new RowIndices(
            firstRow < last ? firstRow : last,
            firstRow + 1 < last ? firstRow + 1 : last,
            firstRow + 2 < last ? firstRow + 2 : last,
            firstRow + 3 < last ? firstRow + 3 : last);
    }

    /// <summary>Index of each row's first 16-byte chunk in a packed view of the weights.</summary>
    public static RowOffsets FirstChunks(RowIndices rows, int chunksPerRow) =>
        new((long)rows.Row0 * chunksPerRow, (long)rows.Row1 * chunksPerRow, (long)rows.Row2 * chunksPerRow, (long)rows.Row3 * chunksPerRow);

    /// <summary>
    /// <see cref="IRowFormat{TSelf}.WarpRowPartials"/> for formats that hold caches rather than GEMV weights: one
    /// <see cref="IRowFormat{TSelf}.StridedRowDot"/> per row and item (the lanes' partials still add up to each row's dot
    /// product), without the weight formats' shared loads and chunks in flight.
    /// </summary>
    public static ItemRowSums RowByRowPartials<TFormat>(TFormat format, int rows, int cols, ArrayView<float> x, ItemStarts xStarts,
        int items, int firstRow, int rowsPerWarp, int lane, int lanes)
        where TFormat : struct, IRowFormat<TFormat>
    {
        var rowIndices = Clamped(rows, firstRow);
        var sums = new ItemRowSums();
        sums.Item0 = RowByRow(format, rowIndices, cols, x, xStarts.Item0, rowsPerWarp, lane, lanes);
        if (items > 1)
            sums.Item1 = RowByRow(format, rowIndices, cols, x, xStarts.Item1, rowsPerWarp, lane, lanes);
        if (items > 2)
        {
            sums.Item2 = RowByRow(format, rowIndices, cols, x, xStarts.Item2, rowsPerWarp, lane, lanes);
            sums.Item3 = RowByRow(format, rowIndices, cols, x, xStarts.Item3, rowsPerWarp, lane, lanes);
        }
        return sums;
    }

    private static Float4 RowByRow<TFormat>(TFormat format, RowIndices rowIndices, int cols, ArrayView<float> x, long xStart,
        int rowsPerWarp, int lane, int lanes)
        where TFormat : struct, IRowFormat<TFormat>
    {
        var sums = new Float4(format.StridedRowDot(rowIndices.Row0, cols, x, xStart, lane, lanes), 0f, 0f, 0f);
        if (rowsPerWarp > 1)
            sums.Y = format.StridedRowDot(rowIndices.Row1, cols, x, xStart, lane, lanes);
        if (rowsPerWarp > 2)
        {
            sums.Z = format.StridedRowDot(rowIndices.Row2, cols, x, xStart, lane, lanes);
            sums.W = format.StridedRowDot(rowIndices.Row3, cols, x, xStart, lane, lanes);
        }
        return sums;
    }

    /// <summary>
    /// <see cref="IRowFormat{TSelf}.WarpRowPartials"/> where the rows or the activations are not on 16-byte boundaries, or
    /// a row is not whole chunks: lane k takes columns k, k + lanes, … of every row through
    /// <see cref="IRowFormat{TSelf}.Element"/>, each activation loaded once for the warp's rows. For formats whose element
    /// is one load (fp32, bf16); FP8 block rows keep their own, which takes each row's scale row once.
    /// </summary>
    public static ItemRowSums ScalarItemPartials<TFormat>(TFormat format, int cols, ArrayView<float> x, ItemStarts xStarts, int items,
        RowIndices rows, int rowsPerWarp, int lane, int lanes)
        where TFormat : struct, IRowFormat<TFormat>
    {
        var sums = new ItemRowSums();
        sums.Item0 = ScalarPartials(format, cols, x, xStarts.Item0, rows, rowsPerWarp, lane, lanes);
        if (items > 1)
            sums.Item1 = ScalarPartials(format, cols, x, xStarts.Item1, rows, rowsPerWarp, lane, lanes);
        if (items > 2)
        {
            sums.Item2 = ScalarPartials(format, cols, x, xStarts.Item2, rows, rowsPerWarp, lane, lanes);
            sums.Item3 = ScalarPartials(format, cols, x, xStarts.Item3, rows, rowsPerWarp, lane, lanes);
        }
        return sums;
    }

    private static Float4 ScalarPartials<TFormat>(TFormat format, int cols, ArrayView<float> x, long xStart, RowIndices rows,
        int rowsPerWarp, int lane, int lanes)
        where TFormat : struct, IRowFormat<TFormat>
    {
        var sums = new Float4(0f, 0f, 0f, 0f);
        for (int i = lane; i < cols; i += lanes)
        {
            float value = x[xStart + i];
            sums.X += format.Element(rows.Row0, cols, i) * value;
            if (rowsPerWarp > 1)
                sums.Y += format.Element(rows.Row1, cols, i) * value;
            if (rowsPerWarp > 2)
            {
                sums.Z += format.Element(rows.Row2, cols, i) * value;
                sums.W += format.Element(rows.Row3, cols, i) * value;
            }
        }
        return sums;
    }

    /// <summary>Whether the 16-byte chunk loads may read every item's activations (all its items start on 16 bytes).</summary>
    public static bool ItemsAligned16(ArrayView<float> x, ItemStarts xStarts, int items) =>
        KsVector.IsAligned16(x, xStarts.Item0)
        && (items == 1 || KsVector.IsAligned16(x, xStarts.Item1))
        && (items <= 2 || KsVector.IsAligned16(x, xStarts.Item2) && KsVector.IsAligned16(x, xStarts.Item3));

    /// <summary>8 bf16 values (4 words, low half first) against x[0..7].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Bf16ChunkDot(PackedWords w, Float4 x0, Float4 x1) =>
        LowBf16(w.A) * x0.X + HighBf16(w.A) * x0.Y + LowBf16(w.B) * x0.Z + HighBf16(w.B) * x0.W
        + LowBf16(w.C) * x1.X + HighBf16(w.C) * x1.Y + LowBf16(w.D) * x1.Z + HighBf16(w.D) * x1.W;

    /// <summary>The bf16 in the low half of <paramref name="word"/>, widened.</summary>
    public static float LowBf16(uint word) => Interop.IntAsFloat(word << 16);

    /// <summary>The bf16 in the high half of <paramref name="word"/>, widened.</summary>
    public static float HighBf16(uint word) => Interop.IntAsFloat(word & 0xFFFF_0000u);
}

/// <summary>
/// A warp's partial sums of up to four weight rows (X … W) for up to four batch items
/// (<see cref="IRowFormat{TSelf}.WarpRowPartials"/>): sixteen registers, no local array.
/// </summary>
public struct ItemRowSums
{
    public Float4 Item0;
    public Float4 Item1;
    public Float4 Item2;
    public Float4 Item3;

    /// <summary>Item <paramref name="k"/> (0..3); k is a constant in the folded kernel variants, so this folds.</summary>
    public readonly Float4 Item(int k) => k == 0 ? Item0 : k == 1 ? Item1 : k == 2 ? Item2 : Item3;

    /// <summary>Row <paramref name="j"/> (0..3) of item <paramref name="k"/>; both constants in the folded variants.</summary>
    public readonly float Row(int k, int j)
    {
        Float4 sums = Item(k);
        return j == 0 ? sums.X : j == 1 ? sums.Y : j == 2 ? sums.Z : sums.W;
    }
}

/// <summary>Where each of a warp's (up to) four batch items starts in the activations (past the batch: the last item again).</summary>
public readonly struct ItemStarts(long item0, long item1, long item2, long item3)
{
    public readonly long Item0 = item0;
    public readonly long Item1 = item1;
    public readonly long Item2 = item2;
    public readonly long Item3 = item3;
}

/// <summary>The (clamped) weight rows of a warp.</summary>
internal readonly struct RowIndices(int row0, int row1, int row2, int row3)
{
    public readonly int Row0 = row0;
    public readonly int Row1 = row1;
    public readonly int Row2 = row2;
    public readonly int Row3 = row3;
}

/// <summary>A per-row offset into a buffer (the row's first chunk in the weights, its block row in the scales).</summary>
internal readonly struct RowOffsets(long row0, long row1, long row2, long row3)
{
    public readonly long Row0 = row0;
    public readonly long Row1 = row1;
    public readonly long Row2 = row2;
    public readonly long Row3 = row3;
}

/// <summary>16 bytes read as one vector access (4 fp32, 8 bf16 or 16 e4m3 values), little-endian words.</summary>
public struct PackedWords
{
    public uint A;
    public uint B;
    public uint C;
    public uint D;
}
