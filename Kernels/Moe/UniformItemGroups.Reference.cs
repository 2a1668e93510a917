namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Reference of <see cref="MoeKernels.UniformItemGroups"/>: each expert's run of T slots (expert e at e·T) cut into groups of
/// up to <c>itemsPerGroup</c>, experts in order, and each slot's expert.
/// </summary>
public static class UniformItemGroupsReference
{
    public static (int[] SlotExperts, int[] First, int[] End) Groups(int experts, int itemsPerExpert, int itemsPerGroup)
    {
        var slotExperts = Enumerable.Range(0, experts * itemsPerExpert).Select(s => s / itemsPerExpert).ToArray();
        var first = new List<int>();
        var end = new List<int>();
        for (int e = 0; e < experts; e++)
        {
            for (int start = e * itemsPerExpert; start < (e + 1) * itemsPerExpert; start += itemsPerGroup)
            {
                first.Add(start);
                end.Add(Math.Min(start + itemsPerGroup, (e + 1) * itemsPerExpert));
            }
        }
        return (slotExperts, first.ToArray(), end.ToArray());
    }
}
