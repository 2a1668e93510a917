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
    /// destination[destinationOffset + r·destinationStride + c] = source[sourceOffset + r·sourceStride + c] for c &lt; width,
    /// with columns [ropeOffset, ropeOffset + ropeDim) rotated by position positions[r]: pairs (2i, 2i+1) when
    /// <paramref name="halfSplit"/> is 0 (MLA), (i, i + ropeDim/2) otherwise (the indexer).
    /// </summary>
    [Kernel(Grid = "(rows * width + 255) / 256", GroupSize = "256")]
    public static void RopeCopyRows(
        ArrayView<float> source,      // [rows, sourceStride] from sourceOffset
        ArrayView<float> destination, // [rows, destinationStride] from destinationOffset; columns 0..width written
        ArrayView<int> positions,     // [rows]
        ArrayView<float> cos,         // [positions, ropeDim/2]
        ArrayView<float> sin,         // [positions, ropeDim/2]
        int rows,
        int width,
        int sourceStride,
        long sourceOffset,
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
        long rowStart = sourceOffset + (long)row * sourceStride;
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
        destination[destinationOffset + (long)row * destinationStride + column] = value;
    }
}
