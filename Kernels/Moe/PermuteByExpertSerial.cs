using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// <see cref="PermuteByExpert"/>'s result (the same stable counting sort: counts, offsets, slot ↔ pair maps, pairs held
/// elsewhere without a slot, unused trailing slots at pair 0 and expert 0) computed by one group with a single barrier:
/// thread e (strided over experts) counts expert e's pairs, then sums the counts below its expert for the offset and
/// places its pairs in increasing pair order. The host backends run this form: there a group's barriers and collectives
/// cost far more than the pairs' loads (the generated CPU path runs a group's threads one after another between
/// barriers; ILGPU's CPU accelerator synchronizes OS threads at each), and PermuteByExpert's one group per expert with a
/// scan of nine barriers per tile took 13× longer per decode step on the fast CPU path. On a GPU that one group's serial
/// walks are what cost ~10% of an 8K prompt.
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "1", GroupSize = "256")]
    public static void PermuteByExpertSerial(
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
