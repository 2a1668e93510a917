namespace KernelSharp.Kernels.Moe;

/// <summary>Reference of <see cref="MoeKernels.PermuteByExpert"/>: a stable sort of the pair indices by expert.</summary>
public static class TokenPermutationReference
{
    /// <summary>
    /// expertIds: [N·K] global ids; the experts held are [firstExpert, firstExpert + experts). Returns counts [E],
    /// offsets [E+1], permutedPairs / pairSlots / slotExperts [N·K] (pairs held elsewhere: slot −1; unused trailing
    /// slots: pair 0, expert 0).
    /// </summary>
    public static (int[] Counts, int[] Offsets, int[] PermutedPairs, int[] PairSlots, int[] SlotExperts) Permute(int[] expertIds, int experts, int firstExpert = 0)
    {
        bool Held(int p) => expertIds[p] >= firstExpert && expertIds[p] < firstExpert + experts;
        int[] owned = Enumerable.Range(0, expertIds.Length).Where(Held).OrderBy(p => expertIds[p]).ThenBy(p => p).ToArray();
        var counts = new int[experts];
        foreach (int p in owned)
        {
            counts[expertIds[p] - firstExpert]++;
        }
        var offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++)
        {
            offsets[e + 1] = offsets[e] + counts[e];
        }
        var permuted = new int[expertIds.Length];
        var slots = Enumerable.Repeat(-1, expertIds.Length).ToArray();
        var slotExperts = new int[expertIds.Length];
        for (int slot = 0; slot < owned.Length; slot++)
        {
            permuted[slot] = owned[slot];
            slots[owned[slot]] = slot;
            slotExperts[slot] = expertIds[owned[slot]] - firstExpert;
        }
        return (counts, offsets, permuted, slots, slotExperts);
    }
}
