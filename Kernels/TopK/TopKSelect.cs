using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

/// <summary>
/// Per-row top-k selection over the indexer's scores (DSA.md §3 "Lightning indexer", step 6): one group per row,
/// a 4-pass radix select (8 bits per pass) on an order-preserving 32-bit key of each score, then a stable
/// collection pass that writes the chosen indices in ascending index order.
/// </summary>
/// <remarks>
/// <para><b>Tie rule.</b> Larger score first; among equal scores the smaller key index wins. +0 and −0 are equal.</para>
/// <para><b>Masked keys.</b> −∞ and NaN scores are never selected, so a row selects <c>min(k, valid keys)</c> and
/// <c>k ≥ valid</c> returns every valid key (the dense case of DSA.md §3: masked future keys stay masked).</para>
/// <para><b>Output order.</b> Ascending key index, not score order: attention then visits selected keys in cache
/// order, which makes sparse attention over "all keys selected" bit-identical to the dense path.</para>
/// <para>The row may be any length below 2^24 (counts go through a float group sum) and k is unbounded: nothing
/// held in shared memory grows with k or with the row.</para>
/// <para><b>Variants.</b> 256 or 1024 threads per row on a GPU (the autotuner picks; 1024 pays off on 100K+ rows),
/// one thread per row on the CPU path.</para>
/// </remarks>
public static partial class TopKKernels
{
    /// <summary>Histogram bins per radix pass (8 bits of the key).</summary>
    public const int RadixBins = 256;

    /// <summary>Largest group size the per-thread segment tables are sized for.</summary>
    public const int MaxGroupSize = 1024;

    /// <summary>Longest row: valid-key counts are summed as floats, exact below 2^24.</summary>
    public const int MaxRowLength = 1 << 24;

    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void TopKSelect(
        ArrayView<float> scores,  // [rows, rowStride]: row r's `length` scores start at r·rowStride; −∞/NaN = masked
        ArrayView<int> indices,   // [rows, k] out: selected key indices, ascending; entries past counts[r] untouched
        ArrayView<int> counts,    // [rows] out: number selected = min(k, valid keys of the row)
        int rows,
        int length,
        long rowStride,
        int k,
        [Constant(256, 1024, 1)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        int threads = Group.DimX;
        long rowStart = row * rowStride;
        var histogram = SharedMemory.Allocate<int>(RadixBins);         // [256] keys per bin in this pass
        var segmentAbove = SharedMemory.Allocate<int>(MaxGroupSize);   // [threads] keys above the threshold per segment
        var segmentEqual = SharedMemory.Allocate<int>(MaxGroupSize);   // [threads] keys equal to the threshold per segment

        int localValid = 0;
        for (int t = thread; t < length; t += threads)
        {
            if (TopKOrder.Key(scores[rowStart + t]) != 0)
                localValid++;
        }
        var validTotal = KsGroup.Sum(localValid);
        int valid = (int)validTotal;
        int take = k < valid ? k : valid;
        // Every thread computes the same flags and thresholds, so no broadcast is needed after each pass.
        bool selectAll = take == valid;
        uint prefix = 0u;
        uint prefixMask = 0u;
        int remaining = take;

        for (int pass = 0; pass < 4; pass++)
        {
            int shift = 24 - 8 * pass;
            for (int bin = thread; bin < RadixBins; bin += threads)
                histogram[bin] = 0;
            KsGroup.Barrier();
            if (!selectAll)
                TopKOrder.CountBins(scores, rowStart, length, thread, threads, prefix, prefixMask, shift, histogram);
            KsGroup.Barrier();
            if (!selectAll)
            {
                // Walk the bins from the largest keys down until they hold `remaining` keys.
                int above = 0;
                int chosen = RadixBins - 1;
                while (chosen > 0 && above + histogram[chosen] < remaining)
                {
                    above += histogram[chosen];
                    chosen--;
                }
                remaining -= above;
                prefix |= (uint)chosen << shift;
                prefixMask |= 0xFFu << shift;
            }
            KsGroup.Barrier();
        }

        // Selected = every key above `threshold` plus the first `equalQuota` keys equal to it (smaller index first).
        uint threshold = selectAll ? 0u : prefix;
        int equalQuota = selectAll ? 0 : remaining;
        int segment = (length + threads - 1) / threads;
        int begin = thread * segment < length ? thread * segment : length;
        int end = begin + segment < length ? begin + segment : length;
        int mineAbove = 0;
        int mineEqual = 0;
        for (int t = begin; t < end; t++)
        {
            uint key = TopKOrder.Key(scores[rowStart + t]);
            if (key > threshold)
                mineAbove++;
            else if (key == threshold && key != 0u)
                mineEqual++;
        }
        segmentAbove[thread] = mineAbove;
        segmentEqual[thread] = mineEqual;
        KsGroup.Barrier();

        int aboveBefore = 0;
        int equalBefore = 0;
        for (int other = 0; other < thread; other++)
        {
            aboveBefore += segmentAbove[other];
            equalBefore += segmentEqual[other];
        }
        long outputRow = (long)row * k;
        int position = aboveBefore + (equalBefore < equalQuota ? equalBefore : equalQuota);
        int equalSeen = equalBefore;
        for (int t = begin; t < end; t++)
        {
            uint key = TopKOrder.Key(scores[rowStart + t]);
            if (key > threshold)
            {
                indices[outputRow + position] = t;
                position++;
            }
            else if (key == threshold && key != 0u)
            {
                if (equalSeen < equalQuota)
                {
                    indices[outputRow + position] = t;
                    position++;
                }
                equalSeen++;
            }
        }
        if (thread == 0)
            counts[row] = take;
    }
}
