namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Reference of <see cref="MoeKernels.MoeRouter"/>, written as sorts rather than argmax loops: sigmoid and bias in
/// fp32 (so the choices match the kernel's exactly), group scores from each group's two largest, groups and then
/// experts ordered by (score descending, index ascending).
/// </summary>
public static class RouterReference
{
    /// <summary>logits: [N, E]; bias: [E]. Returns ids [N, K] (best first) and weights [N, K].</summary>
    public static (int[] Ids, float[] Weights) Route(
        float[] logits, float[] bias, int tokenCount, int experts, int groups, int topkGroups, int topk,
        float routedScalingFactor, bool normalizeTopk)
    {
        var ids = new int[tokenCount * topk];
        var weights = new float[tokenCount * topk];
        int perGroup = experts / groups;
        for (int n = 0; n < tokenCount; n++)
        {
            float[] s = Enumerable.Range(0, experts).Select(e => RouterMath.Sigmoid(logits[(long)n * experts + e])).ToArray();
            float[] b = Enumerable.Range(0, experts).Select(e => s[e] + bias[e]).ToArray();
            float[] groupScores = Enumerable.Range(0, groups)
                .Select(g => b.Skip(g * perGroup).Take(perGroup).OrderByDescending(x => x).Take(2).Sum())
                .ToArray();
            var kept = Enumerable.Range(0, groups).OrderByDescending(g => groupScores[g]).ThenBy(g => g).Take(topkGroups).ToHashSet();
            int[] chosen = Enumerable.Range(0, experts).Where(e => kept.Contains(e / perGroup))
                .OrderByDescending(e => b[e]).ThenBy(e => e).Take(topk).ToArray();
            double sum = chosen.Sum(e => (double)s[e]);
            for (int k = 0; k < topk; k++)
            {
                ids[n * topk + k] = chosen[k];
                double w = normalizeTopk ? s[chosen[k]] / (sum + 1e-20) : s[chosen[k]];
                weights[n * topk + k] = (float)(w * routedScalingFactor);
            }
        }
        return (ids, weights);
    }
}
