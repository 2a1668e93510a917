using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Rope;

/// <summary>
/// Rope while copying: rows of a projection output are rotated and written elsewhere (a key cache) in one pass,
/// instead of rotating in place and copying after. One thread per output element.
/// </summary>
public static partial class RopeKernels
{
    /// <summary>
    /// destination[destinationOffset + destinationRows[r]·destinationStride + c] = source[r·sourceStride + c] for c &lt; width
    /// (destinationRows: each row's cache row, anywhere in a paged pool; 0..rows−1 writes them in order),
    /// with columns [ropeOffset, ropeOffset + ropeDim) rotated by position positions[r]: pairs (2i, 2i+1) when
    /// <paramref name="halfSplit"/> is 0 (MLA), (i, i + ropeDim/2) otherwise (the indexer). A source that starts inside a
    /// wider buffer is passed as a sub-view (ILGPU takes at most 14 run-time parameters, so the source offset made room
    /// for the destination rows).
    /// </summary>
    [Kernel(Grid = "(rows * width + 255) / 256", GroupSize = "256")]
    public static void RopeCopyRows(
        ArrayView<float> source,      // [rows, sourceStride]
        ArrayView<float> destination, // [cache rows, destinationStride] from destinationOffset; columns 0..width of the rows named written
        ArrayView<int> destinationRows, // [rows] the destination row of each source row
        ArrayView<int> positions,     // [rows]
        ArrayView<float> cos,         // [positions, ropeDim/2]
        ArrayView<float> sin,         // [positions, ropeDim/2]
        int rows,
        int width,
        int sourceStride,
        int destinationStride,
        long destinationOffset,
        int ropeOffset,
        int ropeDim,
        int halfSplit)
    {
        long element = (long)Grid.IdxX * 256 + Group.IdxX;
        if (element >= (long)rows * width)
            return;
        int row = (int)(element / width);
        int column = (int)(element - (long)row * width);
        long rowStart = (long)row * sourceStride;
        float value = source[rowStart + column];
        int j = column - ropeOffset;
        if (j >= 0 && j < ropeDim)
        {
            int half = ropeDim / 2;
            bool first = halfSplit != 0 ? j < half : (j & 1) == 0;
            int pair = halfSplit != 0 ? (first ? j : j - half) : j / 2;
            int partner = halfSplit != 0 ? (first ? j + half : j - half) : (first ? j + 1 : j - 1);
            long table = (long)positions[row] * half + pair;
            float other = source[rowStart + ropeOffset + partner];
            // (a, b) → (a·cos − b·sin, b·cos + a·sin): the first element subtracts its partner's share, the second adds it
            value = first ? value * cos[table] - other * sin[table] : value * cos[table] + other * sin[table];
        }
        destination[destinationOffset + (long)destinationRows[row] * destinationStride + column] = value;
    }
}
