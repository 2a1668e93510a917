using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Groups the router's (token, k) pairs by expert — a stable counting sort — so each expert's tokens are contiguous
/// for <see cref="MoeKernels.GroupedFfnGateUp{TWeights}"/> and friends. Pair p = token·K + k. One group per held expert:
/// a first pass over every pair counts the expert's own pairs and those of the held experts below it (its first slot);
/// a second pass walks the pairs in tiles of 4 per thread, and an inclusive scan of the threads' matches in shared
/// memory gives each thread the slot of its first match, so the expert's pairs land in increasing pair order. The
/// result is deterministic (no atomics) and each group reads the ids coalesced.
/// Why not one group for all experts (the earlier form): each thread then walked every pair twice on its own, which at a
/// prompt of 8K tokens (49 152 pairs) took ~10% of an 8K prefill of mid-5b on an H100
/// (docs/perf/prefill-tensor-cores.md).
/// With expert parallelism a rank holds experts [firstExpert, firstExpert + experts): pairs routed to other experts get
/// no slot (pairSlots = −1, which <see cref="CombineExperts"/> skips; written by group 0), and the slots left over at the
/// end point at local expert 0 and pair 0 (written by the last group), so kernels that run every slot compute something
/// harmless there that nothing reads. Counts are summed as floats across the group: exact below 2^24 pairs, which the
/// runtime checks.
/// </summary>
public static partial class MoeKernels
{
    /// <summary>Threads per group of <see cref="PermuteByExpert"/>.</summary>
    public const int PermuteThreads = 256;

    /// <summary>Pairs each thread takes per tile of the placing pass.</summary>
    private const int PermutePairsPerThread = 4;

    /// <summary>Most pairs <see cref="PermuteByExpert"/> counts exactly (its group sums are fp32).</summary>
    public const int PermuteMaxPairs = 1 << 24;

    [Kernel(Grid = "experts", GroupSize = "256")]
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
        var scan = SharedMemory.Allocate<int>(2 * PermuteThreads); // two buffers of [threads] for the scan's steps
        int thread = Group.IdxX;
        int local = Grid.IdxX;
        int expert = firstExpert + local;

        int own = 0;
        int below = 0;
        for (int p = thread; p < pairCount; p += PermuteThreads)
        {
            int id = expertIds[p];
            if (id == expert)
                own++;
            else if (id >= firstExpert && id < expert)
                below++;
            else if (local == 0 && (id < firstExpert || id >= firstExpert + experts))
                pairSlots[p] = -1;
        }
        float ownSum = KsGroup.Sum(own);
        float belowSum = KsGroup.Sum(below);
        int count = (int)ownSum;
        int first = (int)belowSum;
        if (thread == 0)
        {
            expertCounts[local] = count;
            expertOffsets[local] = first;
            if (local == experts - 1)
                expertOffsets[experts] = first + count;
        }

        // Placing pass: thread t takes pairs tile + 4t .. 4t + 3; its first slot is the tile's base plus the matches of
        // the threads before it (Hillis–Steele scan, one buffer read and the other written per step).
        int tileBase = first;
        for (int tile = 0; tile < pairCount; tile += PermuteThreads * PermutePairsPerThread)
        {
            int p0 = tile + thread * PermutePairsPerThread;
            bool m0 = p0 < pairCount && expertIds[p0] == expert;
            bool m1 = p0 + 1 < pairCount && expertIds[p0 + 1] == expert;
            bool m2 = p0 + 2 < pairCount && expertIds[p0 + 2] == expert;
            bool m3 = p0 + 3 < pairCount && expertIds[p0 + 3] == expert;
            int matches = (m0 ? 1 : 0) + (m1 ? 1 : 0) + (m2 ? 1 : 0) + (m3 ? 1 : 0);
            scan[thread] = matches;
            KsGroup.Barrier();
            int read = 0;
            for (int offset = 1; offset < PermuteThreads; offset *= 2)
            {
                int value = scan[read + thread];
                if (thread >= offset)
                    value += scan[read + thread - offset];
                scan[PermuteThreads - read + thread] = value;
                read = PermuteThreads - read;
                KsGroup.Barrier();
            }
            int slot = tileBase + scan[read + thread] - matches;
            int tileMatches = scan[read + PermuteThreads - 1];
            if (m0)
                Place(permutedPairs, pairSlots, slotExperts, p0, slot++, local);
            if (m1)
                Place(permutedPairs, pairSlots, slotExperts, p0 + 1, slot++, local);
            if (m2)
                Place(permutedPairs, pairSlots, slotExperts, p0 + 2, slot++, local);
            if (m3)
                Place(permutedPairs, pairSlots, slotExperts, p0 + 3, slot, local);
            tileBase += tileMatches;
            KsGroup.Barrier(); // every thread has read the scan before the next tile writes it
        }

        if (local == experts - 1)
        {
            for (int unused = first + count + thread; unused < pairCount; unused += PermuteThreads)
            {
                permutedPairs[unused] = 0;
                slotExperts[unused] = 0;
            }
        }
    }

    private static void Place(ArrayView<int> permutedPairs, ArrayView<int> pairSlots, ArrayView<int> slotExperts, int pair, int slot, int local)
    {
        permutedPairs[slot] = pair;
        pairSlots[pair] = slot;
        slotExperts[slot] = local;
    }
}
