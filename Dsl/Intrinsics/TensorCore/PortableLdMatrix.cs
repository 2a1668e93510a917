using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// ldmatrix.x4 without the instruction: lane L needs row L/4 of each matrix i, whose offset lane 8i + L/4 holds,
/// so it fetches that offset (shuffle or shared memory) and reads two bf16 at column 2·(L%4).
/// </summary>
internal static class PortableLdMatrix
{
    public static MatrixFragmentX4 LoadX4(ArrayView<ushort> tile, int rowOffset)
    {
        int lane = Warp.LaneIdx;
        int row = lane >> 2;
        int column = 2 * (lane & 3);
        int offset0 = Warp.Shuffle(rowOffset, row) + column;
        int offset1 = Warp.Shuffle(rowOffset, 8 + row) + column;
        int offset2 = Warp.Shuffle(rowOffset, 16 + row) + column;
        int offset3 = Warp.Shuffle(rowOffset, 24 + row) + column;
        return new MatrixFragmentX4(
            MmaTile.Pack(tile[offset0], tile[offset0 + 1]),
            MmaTile.Pack(tile[offset1], tile[offset1 + 1]),
            MmaTile.Pack(tile[offset2], tile[offset2 + 1]),
            MmaTile.Pack(tile[offset3], tile[offset3 + 1]));
    }

    /// <summary>The same without shuffles (OpenCL, narrow-warp CPU devices): row offsets go through shared memory.
    /// Every thread of the group must call it.</summary>
    public static MatrixFragmentX4 LoadX4ThroughShared(ArrayView<ushort> tile, int rowOffset)
    {
        var offsets = SharedMemory.Allocate<int>(1024); // [group thread]
        int thread = Group.IdxX;
        offsets[thread] = rowOffset;
        Group.Barrier();
        int warpBase = thread & ~31;
        int lane = thread & 31;
        int row = lane >> 2;
        int column = 2 * (lane & 3);
        int offset0 = offsets[warpBase + row] + column;
        int offset1 = offsets[warpBase + 8 + row] + column;
        int offset2 = offsets[warpBase + 16 + row] + column;
        int offset3 = offsets[warpBase + 24 + row] + column;
        Group.Barrier();
        return new MatrixFragmentX4(
            MmaTile.Pack(tile[offset0], tile[offset0 + 1]),
            MmaTile.Pack(tile[offset1], tile[offset1 + 1]),
            MmaTile.Pack(tile[offset2], tile[offset2 + 1]),
            MmaTile.Pack(tile[offset3], tile[offset3 + 1]));
    }

    public static MatrixFragmentX4 LaneResult(ReadOnlySpan<ushort> tile, ReadOnlySpan<int> rowOffsets, int lane)
    {
        int row = lane >> 2;
        int column = 2 * (lane & 3);
        return new MatrixFragmentX4(
            Word(tile, rowOffsets[row] + column),
            Word(tile, rowOffsets[8 + row] + column),
            Word(tile, rowOffsets[16 + row] + column),
            Word(tile, rowOffsets[24 + row] + column));
    }

    private static uint Word(ReadOnlySpan<ushort> tile, int offset) => MmaTile.Pack(tile[offset], tile[offset + 1]);
}
