using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

public static partial class TopKKernels
{
    /// <summary>
    /// Chooses the last radix byte (the threshold key and how many keys equal to it are taken: the smallest indices
    /// first), stores it, and counts this slice's keys above / equal to the threshold. Grid Y is the row.
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GridY = "rows", GroupSize = "256")]
    public static void TopKRowCount(
        ArrayView<float> allScores,     // [rows, rowStride] row r's scores start at r·rowStride
        ArrayView<int> allWorkspaces,   // [rows, TopKRowWorkspaceLength(length)]
        [Shape(1)] int rows,
        int length,
        long rowStride,
        int k)
    {
        int row = rows == 1 ? 0 : Grid.IdxY; // a one-row launch folds the row offsets away (see TopKRowLayout)
        var scores = allScores.SubView(row * rowStride, length);
        var workspace = RowWorkspace(allWorkspaces, length, row);
        int thread = Group.IdxX;
        int slice = Grid.IdxX;
        int sliceStart = slice * TopKRowSlice;
        var previous = SharedMemory.Allocate<int>(RadixBins);              // [256] pass 3's histogram
        var chunkSums = SharedMemory.Allocate<int>(TopKRadixWalk.Chunks);  // [16]

        previous[thread] = workspace[3 * RadixBins + thread];
        var validTotal = KsGroup.Sum(workspace[thread]);
        KsGroup.Barrier(); // `previous` is complete
        if (thread < TopKRadixWalk.Chunks)
            chunkSums[thread] = TopKRadixWalk.ChunkSum(previous, thread);
        KsGroup.Barrier();

        int take = k < (int)validTotal ? k : (int)validTotal;
        bool selectAll = take == (int)validTotal;
        int remaining = workspace[TopKRowStateBase + 4 * 3 + 1];
        var choice = TopKRadixWalk.Choose(previous, chunkSums, remaining);
        // Selecting every valid key: threshold 0 (every valid key is above it) and no equal keys.
        uint threshold = selectAll ? 0u : (uint)workspace[TopKRowStateBase + 4 * 3] | (uint)choice.Bin;
        int equalQuota = selectAll ? 0 : remaining - choice.Above;
        if (slice == 0 && thread == 0)
        {
            workspace[TopKRowStateBase + 4 * 4] = (int)threshold;
            workspace[TopKRowStateBase + 4 * 4 + 1] = equalQuota;
            workspace[TopKRowStateBase + 4 * 4 + 2] = take;
        }

        int sliceEnd = sliceStart + TopKRowSlice < length ? sliceStart + TopKRowSlice : length;
        int mineAbove = 0;
        int mineEqual = 0;
        for (int t = sliceStart + thread; t < sliceEnd; t += TopKRowThreads)
        {
            uint key = TopKOrder.Key(scores[t]);
            if (key > threshold)
                mineAbove++;
            else if (key == threshold && key != 0u)
                mineEqual++;
        }
        var above = KsGroup.Sum(mineAbove);
        var equal = KsGroup.Sum(mineEqual);
        if (thread == 0)
        {
            workspace[TopKRowSliceCountsBase + 2 * slice] = (int)above;
            workspace[TopKRowSliceCountsBase + 2 * slice + 1] = (int)equal;
        }
    }
}
