using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

public static partial class TopKKernels
{
    /// <summary>
    /// Radix pass 0 of the long-row top-k: merges each slice's histogram of the top key byte (bits 24–31, every valid
    /// key) into the row's first workspace histogram. A kernel of its own because it has nothing to read back: the later
    /// passes (<see cref="TopKRowPass"/>) first sum and scan the previous pass's histogram, which here would be a group
    /// reduction and two barriers over zeros in every group. Grid Y is the row.
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GridY = "rows", GroupSize = "256")]
    public static void TopKRowFirstPass(
        ArrayView<float> allScores,     // [rows, rowStride] row r's `length` scores start at r·rowStride; −∞/NaN = masked
        ArrayView<int> allWorkspaces,   // [rows, TopKRowWorkspaceLength(length)] histograms (zeroed) and state, one block per row
        [Shape(1)] int rows,
        int length,
        long rowStride)
    {
        int row = rows == 1 ? 0 : Grid.IdxY; // a one-row launch folds the row offsets away (see TopKRowLayout)
        var scores = allScores.SubView(row * rowStride, length);
        var workspace = RowWorkspace(allWorkspaces, length, row);
        int thread = Group.IdxX;
        int sliceStart = Grid.IdxX * TopKRowSlice;
        var sliceCounts = SharedMemory.Allocate<int>(RadixBins); // [256] this slice's histogram

        sliceCounts[thread] = 0;
        KsGroup.Barrier(); // every bin is zero before any thread counts into it
        int sliceEnd = sliceStart + TopKRowSlice < length ? sliceStart + TopKRowSlice : length;
        TopKOrder.CountBins(scores, sliceStart, sliceEnd - sliceStart, thread, TopKRowThreads, 0u, 0u, 24, sliceCounts);
        KsGroup.Barrier();
        int count = sliceCounts[thread];
        if (count != 0)
            Atomic.Add(ref workspace[thread], count);
    }
}
