namespace KernelSharp.Kernels.Moe;

/// <summary>Reference of <see cref="MoeKernels.PermuteByExpert"/>: a stable sort of the pair indices by expert.</summary>
public static class TokenPermutationReference
{
    /// <summary>expertIds: [N·K]. Returns counts [E], offsets [E+1], permutedPairs / pairSlots / slotExperts [N·K].</summary>
    public static (int[] Counts, int[] Offsets, int[] PermutedPairs, int[] PairSlots, int[] SlotExperts) Permute(int[] expertIds, int experts)
    {
        int[] permuted = Enumerable.Range(0, expertIds.Length).OrderBy(p => expertIds[p]).ThenBy(p => p).ToArray();
        var counts = new int[experts];
        foreach (int e in expertIds)
        {
            counts[e]++;
        }
        var offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++)
        {
            offsets[e + 1] = offsets[e] + counts[e];
        }
        var slots = new int[expertIds.Length];
        var slotExperts = new int[expertIds.Length];
        for (int slot = 0; slot < permuted.Length; slot++)
        {
            slots[permuted[slot]] = slot;
            slotExperts[slot] = expertIds[permuted[slot]];
        }
        return (counts, offsets, permuted, slots, slotExperts);
    }
}
