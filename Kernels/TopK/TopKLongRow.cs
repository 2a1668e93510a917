using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

/// <summary>
/// Top-k of ONE long row (a decode step's indexer scores over the whole cache) with many groups: the same radix
/// select and the same result as <see cref="TopKKernels.TopKSelect"/> (ties → lower index, −∞/NaN masked, output
/// in ascending index order), but every pass spreads the row over slices of <see cref="TopKRowSlice"/> keys, one
/// group each, instead of walking it with one group. Launched as a sequence (see <see cref="TopKLongRow.Launch"/>):
/// <list type="number">
/// <item><see cref="TopKRowPass"/> × 4: pass p merges per-slice histograms of key byte 3−p into the workspace with
/// atomics; from pass 1 on every group first reads the previous pass's histogram and chooses its bin (the radix
/// prefix so far), the valid count being the sum of pass 0's histogram;</item>
/// <item><see cref="TopKRowCount"/>: chooses the last bin (the threshold key and how many keys equal to it are
/// taken), and counts per slice the keys above / equal to the threshold;</item>
/// <item><see cref="TopKRowWrite"/>: each slice adds up the counts of the slices before it and writes its selected
/// indices at their final positions, in index order.</item>
/// </list>
/// </summary>
/// <remarks>
/// Workspace (ints): <c>[0, 1024)</c> the four 256-bin histograms (zeroed by the launcher), <c>[1024, 1044)</c>
/// the selection state after each pass (prefix, remaining, take; 4 ints per pass), then 2 ints per slice
/// (keys above, keys equal). Every group of a launch computes the same state from the same histograms; group 0 stores it.
/// </remarks>
public static partial class TopKKernels
{
    /// <summary>Keys per slice (one group) of the long-row kernels: 4 per thread.</summary>
    public const int TopKRowSlice = 1024;

    /// <summary>Threads per group of the long-row kernels (one per histogram bin).</summary>
    public const int TopKRowThreads = RadixBins;

    /// <summary>Keys each thread of <see cref="TopKRowWrite"/> owns (a contiguous run, so its writes keep index order).</summary>
    private const int TopKRowRun = TopKRowSlice / TopKRowThreads;

    /// <summary>Workspace offset of the selection state (4 ints per pass: prefix, remaining, take, unused).</summary>
    public const int TopKRowStateBase = 4 * RadixBins;

    /// <summary>Workspace offset of the per-slice (above, equal) counts.</summary>
    public const int TopKRowSliceCountsBase = TopKRowStateBase + 4 * 5;

    /// <summary>Ints of workspace a row of <paramref name="length"/> keys needs.</summary>
    public static long TopKRowWorkspaceLength(int length) => TopKRowSliceCountsBase + 2L * TopKRowSlices(length);

    /// <summary>Groups of each long-row launch.</summary>
    public static int TopKRowSlices(int length) => (length + TopKRowSlice - 1) / TopKRowSlice;

    /// <summary>
    /// Radix pass <paramref name="pass"/> (0..3) over the key byte at bit 24 − 8·pass, counting only keys whose higher
    /// bytes equal the prefix chosen so far (pass 0: every valid key).
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GroupSize = "256")]
    public static void TopKRowPass(
        ArrayView<float> scores,     // [length] one row; −∞/NaN = masked
        ArrayView<int> workspace,    // [TopKRowWorkspaceLength(length)] histograms and state
        int length,
        int k,
        int pass)
    {
        int thread = Group.IdxX;
        int sliceStart = Grid.IdxX * TopKRowSlice;
        var previous = SharedMemory.Allocate<int>(RadixBins);              // [256] the previous pass's histogram
        var chunkSums = SharedMemory.Allocate<int>(TopKRadixWalk.Chunks);  // [16] its chunk sums
        var sliceCounts = SharedMemory.Allocate<int>(RadixBins);           // [256] this slice's histogram

        sliceCounts[thread] = 0;
        previous[thread] = pass > 0 ? workspace[(pass - 1) * RadixBins + thread] : 0;
        var validTotal = KsGroup.Sum(pass > 0 ? workspace[thread] : 0);
        KsGroup.Barrier(); // `previous` is complete
        if (thread < TopKRadixWalk.Chunks)
            chunkSums[thread] = TopKRadixWalk.ChunkSum(previous, thread);
        KsGroup.Barrier();

        int take = k < (int)validTotal ? k : (int)validTotal;
        bool selectAll = pass > 0 && take == (int)validTotal;
        uint prefix = 0u;
        uint prefixMask = 0u;
        if (pass > 0)
        {
            // State before pass − 1 (pass 1: nothing chosen yet, all `take` keys still to place).
            uint before = pass > 1 ? (uint)workspace[TopKRowStateBase + 4 * (pass - 1)] : 0u;
            int remaining = pass > 1 ? workspace[TopKRowStateBase + 4 * (pass - 1) + 1] : take;
            var choice = TopKRadixWalk.Choose(previous, chunkSums, remaining);
            prefix = before | ((uint)choice.Bin << (32 - 8 * pass));
            prefixMask = 0xFFFF_FFFFu << (32 - 8 * pass);
            if (Grid.IdxX == 0 && thread == 0)
            {
                workspace[TopKRowStateBase + 4 * pass] = (int)prefix;
                workspace[TopKRowStateBase + 4 * pass + 1] = remaining - choice.Above;
                workspace[TopKRowStateBase + 4 * pass + 2] = take;
            }
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

    /// <summary>
    /// Chooses the last radix byte (the threshold key and how many keys equal to it are taken: the smallest indices
    /// first), stores it, and counts this slice's keys above / equal to the threshold.
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GroupSize = "256")]
    public static void TopKRowCount(
        ArrayView<float> scores,     // [length] one row
        ArrayView<int> workspace,    // [TopKRowWorkspaceLength(length)]
        int length,
        int k)
    {
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

    /// <summary>
    /// Writes the selected indices of this slice at their final positions: keys above the threshold before this
    /// one plus the equal keys before it (capped at the quota). Each thread owns a contiguous run of 4 keys.
    /// </summary>
    [Kernel(Grid = "(length + 1023) / 1024", GroupSize = "256")]
    public static void TopKRowWrite(
        ArrayView<float> scores,     // [length] one row
        ArrayView<int> indices,      // [k] out: selected key indices, ascending; entries past count untouched
        ArrayView<int> count,        // [1] out: min(k, valid keys)
        ArrayView<int> workspace,    // [TopKRowWorkspaceLength(length)]
        int length)
    {
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
            count[0] = workspace[TopKRowStateBase + 4 * 4 + 2];
    }
}
