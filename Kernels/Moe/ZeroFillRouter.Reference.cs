namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Reference of <see cref="ZeroFillRouterKernels.RouteZeroFill"/> written as sorts: groups ranked by the sum of
/// their two best b, every expert outside the kept groups scored 0, experts ranked by (score desc, index asc).
/// </summary>
public static class ZeroFillRouterReference
{
    /// <summary>logits [N, E], bias [E] → ids [N, K] (best first), weights [N, K].</summary>
    public static (int[] Ids, float[] Weights) Route(float[] logits, float[] bias, int tokenCount, int experts, int groups,
        int keptGroups, int topk, float scalingFactor, bool normalize)
    {
        var ids = new int[tokenCount * topk];
        var weights = new float[tokenCount * topk];
        var perGroup = experts / groups;
        for (var n = 0; n < tokenCount; n++)
        {
            var s = Enumerable.Range(0, experts).Select(e => ZeroFillRouterMath.Sigmoid(logits[(long)n * experts + e])).ToArray();
            var b = Enumerable.Range(0, experts).Select(e => s[e] + bias[e]).ToArray();
            var groupScores = Enumerable.Range(0, groups)
                .Select(g => b.Skip(g * perGroup).Take(perGroup).OrderByDescending(x => x).Take(2).Sum())
                .ToArray();
            var kept = Enumerable.Range(0, groups).OrderByDescending(g => groupScores[g]).ThenBy(g => g).Take(keptGroups).ToHashSet();
            var scores = Enumerable.Range(0, experts).Select(e => kept.Contains(e / perGroup) ? b[e] : 0f).ToArray();
            var chosen = Enumerable.Range(0, experts).OrderByDescending(e => scores[e]).ThenBy(e => e).Take(topk).ToArray();
            var sum = 0f;
            foreach (var e in chosen)
            {
                sum += s[e];
            }

            var factor = normalize ? scalingFactor / (sum + 1e-20f) : scalingFactor;
            for (var k = 0; k < topk; k++)
            {
                ids[n * topk + k] = chosen[k];
                weights[n * topk + k] = s[chosen[k]] * factor;
            }
        }

        return (ids, weights);
    }
}
