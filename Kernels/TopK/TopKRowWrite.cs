using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

public static partial class TopKKernels
{
    /// <summary>
    /// Writes the selected indices of this slice at their final positions: keys above the threshold before this
    /// one plus the equal keys before it (capped at the quota). Each thread owns a contiguous run of 4 keys. Grid Y is
    /// the row.
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GridY = "rows", GroupSize = "256")]
    public static void TopKRowWrite(
        ArrayView<float> allScores,     // [rows, rowStride] row r's scores start at r·rowStride
        ArrayView<int> allIndices,      // [rows, k] out: selected key indices, ascending; entries past counts[r] untouched
        ArrayView<int> counts,          // [rows] out: min(k, valid keys of the row)
        ArrayView<int> allWorkspaces,   // [rows, TopKRowWorkspaceLength(length)]
        [Shape(1)] int rows,
        int length,
        long rowStride,
        int k)
    {
        int row = rows == 1 ? 0 : Grid.IdxY; // a one-row launch folds the row offsets away (see TopKRowLayout)
        var scores = allScores.SubView(row * rowStride, length);
        var indices = allIndices.SubView((long)row * k, k);
        var workspace = RowWorkspace(allWorkspaces, length, row);
        int thread = Group.IdxX;
        int slice = Grid.IdxX;
        int sliceStart = slice * TopKRowSlice;
        var runCounts = SharedMemory.Allocate<int>(TopKRowThreads);  // [256] per run: above | equal << 16, scanned in place

        uint threshold = (uint)workspace[TopKRowStateBase + 4 * 4];
        int equalQuota = workspace[TopKRowStateBase + 4 * 4 + 1];
        int aboveMine = 0;
        int equalMine = 0;
        for (int other = thread; other < slice; other += TopKRowThreads)
        {
            aboveMine += workspace[TopKRowSliceCountsBase + 2 * other];
            equalMine += workspace[TopKRowSliceCountsBase + 2 * other + 1];
        }
        var aboveInEarlierSlices = KsGroup.Sum(aboveMine);
        var equalInEarlierSlices = KsGroup.Sum(equalMine);

        int begin = sliceStart + thread * TopKRowRun < length ? sliceStart + thread * TopKRowRun : length;
        int end = begin + TopKRowRun < length ? begin + TopKRowRun : length;
        int runAboveCount = 0;
        int runEqualCount = 0;
        for (int t = begin; t < end; t++)
        {
            uint key = TopKOrder.Key(scores[t]);
            if (key > threshold)
                runAboveCount++;
            else if (key == threshold && key != 0u)
                runEqualCount++;
        }
        // Both counts of a run fit 16 bits (a slice holds 1024 keys), so one inclusive scan (Hillis–Steele, 8 steps)
        // gives both prefix sums.
        int mine = runAboveCount | (runEqualCount << 16);
        runCounts[thread] = mine;
        KsGroup.Barrier();
        for (int offset = 1; offset < TopKRowThreads; offset *= 2)
        {
            int addend = thread >= offset ? runCounts[thread - offset] : 0;
            KsGroup.Barrier();
            runCounts[thread] += addend;
            KsGroup.Barrier();
        }
        int runsBefore = runCounts[thread] - mine; // exclusive prefix, both halves
        int aboveBefore = (int)aboveInEarlierSlices + (runsBefore & 0xFFFF);
        int equalBefore = (int)equalInEarlierSlices + (runsBefore >> 16);
        int position = aboveBefore + (equalBefore < equalQuota ? equalBefore : equalQuota);
        int equalSeen = equalBefore;
        for (int t = begin; t < end; t++)
        {
            uint key = TopKOrder.Key(scores[t]);
            if (key > threshold)
            {
                indices[position] = t;
                position++;
            }
            else if (key == threshold && key != 0u)
            {
                if (equalSeen < equalQuota)
                {
                    indices[position] = t;
                    position++;
                }
                equalSeen++;
            }
        }
        if (slice == 0 && thread == 0)
            counts[row] = workspace[TopKRowStateBase + 4 * 4 + 2];
    }
}
