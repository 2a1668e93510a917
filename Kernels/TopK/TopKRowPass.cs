using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

public static partial class TopKKernels
{
    /// <summary>
    /// Radix pass <paramref name="pass"/> (1..3; pass 0 is <see cref="TopKRowFirstPass"/>) over the key byte at bit
    /// 24 − 8·pass, counting only keys whose higher bytes equal the prefix chosen so far. Grid Y is the row.
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GridY = "rows", GroupSize = "256")]
    public static void TopKRowPass(
        ArrayView<float> allScores,     // [rows, rowStride] row r's `length` scores start at r·rowStride; −∞/NaN = masked
        ArrayView<int> allWorkspaces,   // [rows, TopKRowWorkspaceLength(length)] histograms and state, one block per row
        [Shape(1)] int rows,
        int length,
        long rowStride,
        int k,
        int pass)
    {
        int row = rows == 1 ? 0 : Grid.IdxY; // a one-row launch folds the row offsets away (see TopKRowLayout)
        var scores = allScores.SubView(row * rowStride, length);
        var workspace = RowWorkspace(allWorkspaces, length, row);
        int thread = Group.IdxX;
        int sliceStart = Grid.IdxX * TopKRowSlice;
        var previous = SharedMemory.Allocate<int>(RadixBins);              // [256] the previous pass's histogram
        var chunkSums = SharedMemory.Allocate<int>(TopKRadixWalk.Chunks);  // [16] its chunk sums
        var sliceCounts = SharedMemory.Allocate<int>(RadixBins);           // [256] this slice's histogram

        sliceCounts[thread] = 0;
        previous[thread] = workspace[(pass - 1) * RadixBins + thread];
        var validTotal = KsGroup.Sum(workspace[thread]); // pass 0 counted every valid key
        KsGroup.Barrier(); // `previous` is complete
        if (thread < TopKRadixWalk.Chunks)
            chunkSums[thread] = TopKRadixWalk.ChunkSum(previous, thread);
        KsGroup.Barrier();

        int take = k < (int)validTotal ? k : (int)validTotal;
        bool selectAll = take == (int)validTotal;
        // State before pass − 1 (pass 1: nothing chosen yet, all `take` keys still to place).
        uint before = pass > 1 ? (uint)workspace[TopKRowStateBase + 4 * (pass - 1)] : 0u;
        int remaining = pass > 1 ? workspace[TopKRowStateBase + 4 * (pass - 1) + 1] : take;
        var choice = TopKRadixWalk.Choose(previous, chunkSums, remaining);
        uint prefix = before | ((uint)choice.Bin << (32 - 8 * pass));
        uint prefixMask = 0xFFFF_FFFFu << (32 - 8 * pass);
        if (Grid.IdxX == 0 && thread == 0)
        {
            workspace[TopKRowStateBase + 4 * pass] = (int)prefix;
            workspace[TopKRowStateBase + 4 * pass + 1] = remaining - choice.Above;
            workspace[TopKRowStateBase + 4 * pass + 2] = take;
        }
        if (!selectAll)
        {
            int sliceEnd = sliceStart + TopKRowSlice < length ? sliceStart + TopKRowSlice : length;
            TopKOrder.CountBins(scores, sliceStart, sliceEnd - sliceStart, thread, TopKRowThreads, prefix, prefixMask, 24 - 8 * pass, sliceCounts);
        }
        KsGroup.Barrier();
        int count = sliceCounts[thread];
        if (count != 0)
            Atomic.Add(ref workspace[pass * RadixBins + thread], count);
    }
}
