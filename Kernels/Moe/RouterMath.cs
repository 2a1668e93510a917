using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

public static class RouterMath
{
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Sum of the two largest biased scores of experts first..first+count−1 (the one score if count is 1).</summary>
    public static float GroupScore(ArrayView<float> logits, ArrayView<float> correctionBias, long row, int first, int count)
    {
        float top = float.NegativeInfinity;
        float second = float.NegativeInfinity;
        for (int e = first; e < first + count; e++)
        {
            float biased = Sigmoid(logits[row + e]) + correctionBias[e];
            if (biased > top)
            {
                second = top;
                top = biased;
            }
            else if (biased > second)
            {
                second = biased;
            }
        }
        return count == 1 ? top : top + second;
    }

    /// <summary>Whether expert <paramref name="e"/> is among the first <paramref name="chosen"/> picks of this token.</summary>
    public static bool AlreadyChosen(ArrayView<int> expertIds, long output, int chosen, int e)
    {
        for (int k = 0; k < chosen; k++)
        {
            if (expertIds[output + k] == e)
                return true;
        }
        return false;
    }

    /// <summary>Throws <see cref="ArgumentException"/> (one line) when the router cannot serve this configuration.</summary>
    public static void Validate(int experts, int groups, int topkGroups, int topk)
    {
        if (groups < 1 || groups > MoeKernels.MaxGroups || experts % groups != 0)
            throw new ArgumentException($"MoE router: n_group must divide n_routed_experts ({experts}) and be 1..{MoeKernels.MaxGroups}, got {groups}");
        if (topkGroups < 1 || topkGroups > groups)
            throw new ArgumentException($"MoE router: topk_group must be in 1..n_group ({groups}), got {topkGroups}");
        if (topk < 1 || topk > topkGroups * (experts / groups))
            throw new ArgumentException($"MoE router: num_experts_per_tok must be in 1..{topkGroups * (experts / groups)} (experts in the kept groups), got {topk}");
    }
}
