namespace KernelSharp.Kernels.Moe;

/// <summary>Reference of <see cref="ExpertGatherKernels.GatherSlotRows"/>.</summary>
public static class ExpertRowGatherReference
{
    /// <summary>x [N, H], permutedPairs [N·K] → [slotCount, H].</summary>
    public static float[] Gather(float[] x, int[] permutedPairs, int firstSlot, int slotCount, int hidden, int topk)
    {
        var gathered = new float[slotCount * hidden];
        for (var s = 0; s < slotCount; s++)
        {
            var token = permutedPairs[firstSlot + s] / topk;
            Array.Copy(x, token * hidden, gathered, s * hidden, hidden);
        }

        return gathered;
    }
}
