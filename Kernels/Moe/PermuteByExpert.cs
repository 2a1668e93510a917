using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Groups the router's (token, k) pairs by expert — a stable counting sort — so each expert's tokens are contiguous
/// for <see cref="MoeKernels.GroupedFfnGateUpBf16"/> and friends. Pair p = token·K + k. One group: thread e (strided
/// over experts) counts expert e's pairs, the group waits, then each thread sums the counts below its expert for the
/// offset and places its pairs in increasing pair order. Every thread scans all pairs at the same index together, so
/// on a GPU the reads are broadcasts; the result is deterministic (no atomics).
/// With expert parallelism a rank holds experts [firstExpert, firstExpert + experts): pairs routed to other experts get
/// no slot (pairSlots = −1, which <see cref="CombineExperts"/> skips), and the slots left over at the end point at local
/// expert 0 and pair 0, so kernels that run every slot compute something harmless there that nothing reads.
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "1", GroupSize = "256")]
    public static void PermuteByExpert(
        ArrayView<int> expertIds,       // [N·K] router choices (global expert ids)
        ArrayView<int> expertCounts,    // [E] out: pairs per local expert
        ArrayView<int> expertOffsets,   // [E+1] out: first slot of each local expert; [E] = slots used
        ArrayView<int> permutedPairs,   // [N·K] out: slot → pair, expert-major, pairs ascending within an expert
        ArrayView<int> pairSlots,       // [N·K] out: pair → slot (inverse of permutedPairs), −1 for pairs held elsewhere
        ArrayView<int> slotExperts,     // [N·K] out: slot → local expert
        int pairCount,
        int experts,                    // E: experts held here
        int firstExpert)                // global id of local expert 0
    {
        int thread = Group.IdxX;
        int threads = Group.DimX;
        for (int e = thread; e < experts; e += threads)
        {
            int count = 0;
            for (int p = 0; p < pairCount; p++)
            {
                if (expertIds[p] == firstExpert + e)
                    count++;
            }
            expertCounts[e] = count;
        }
        for (int p = thread; p < pairCount; p += threads)
            pairSlots[p] = -1;
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
                if (expertIds[p] == firstExpert + e)
                {
                    permutedPairs[slot] = p;
                    pairSlots[p] = slot;
                    slotExperts[slot] = e;
                    slot++;
                }
            }
            if (e == experts - 1)
            {
                for (int unused = slot; unused < pairCount; unused++)
                {
                    permutedPairs[unused] = 0;
                    slotExperts[unused] = 0;
                }
            }
        }
    }
}
