using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Groups the router's (token, k) pairs by expert — a stable counting sort — so each expert's tokens are contiguous
/// for <see cref="MoeKernels.GroupedFfnGateUpBf16"/> and friends. Pair p = token·K + k. One group: thread e (strided
/// over experts) counts expert e's pairs, the group waits, then each thread sums the counts below its expert for the
/// offset and places its pairs in increasing pair order. Every thread scans all pairs at the same index together, so
/// on a GPU the reads are broadcasts; the result is deterministic (no atomics).
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "1", GroupSize = "256")]
    public static void PermuteByExpert(
        ArrayView<int> expertIds,       // [N·K] router choices (each in 0..E−1)
        ArrayView<int> expertCounts,    // [E] out: pairs per expert
        ArrayView<int> expertOffsets,   // [E+1] out: first slot of each expert; [E] = N·K
        ArrayView<int> permutedPairs,   // [N·K] out: slot → pair, expert-major, pairs ascending within an expert
        ArrayView<int> pairSlots,       // [N·K] out: pair → slot (inverse of permutedPairs)
        ArrayView<int> slotExperts,     // [N·K] out: slot → expert
        int pairCount,
        int experts)
    {
        int thread = Group.IdxX;
        int threads = Group.DimX;
        for (int e = thread; e < experts; e += threads)
        {
            int count = 0;
            for (int p = 0; p < pairCount; p++)
            {
                if (expertIds[p] == e)
                    count++;
            }
            expertCounts[e] = count;
        }
        KsGroup.Barrier();

        for (int e = thread; e < experts; e += threads)
        {
            int slot = 0;
            for (int below = 0; below < e; below++)
                slot += expertCounts[below];
            expertOffsets[e] = slot;
            if (e == experts - 1)
                expertOffsets[experts] = slot + expertCounts[e];
            for (int p = 0; p < pairCount; p++)
            {
                if (expertIds[p] == e)
                {
                    permutedPairs[slot] = p;
                    pairSlots[p] = slot;
                    slotExperts[slot] = e;
                    slot++;
                }
            }
        }
    }
}
