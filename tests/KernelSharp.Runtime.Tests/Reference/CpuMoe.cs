using System.Numerics.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>SwiGLU feed-forwards, the noaux_tc expert router and the weighted mix of routed experts.</summary>
internal static class CpuMoe
{
    /// <summary>down(silu(x gateᵀ) * (x upᵀ)): x [rows, H], gate/up [I, H], down [H, I] → [rows, H].</summary>
    public static float[] FeedForward(float[] x, int rows, int hidden, CpuTensor gate, CpuTensor up, CpuTensor down)
    {
        var inner = gate.Rows;
        var gated = CpuLinear.Forward(x, rows, hidden, gate.Values, inner); // [rows, I]
        var linear = CpuLinear.Forward(x, rows, hidden, up.Values, inner);  // [rows, I]
        for (var i = 0; i < gated.Length; i++)
        {
            var g = gated[i];
            gated[i] = g / (1f + MathF.Exp(-g)) * linear[i];
        }

        return CpuLinear.Forward(gated, rows, inner, down.Values, down.Rows);
    }

    /// <summary>
    /// Chosen experts [rows, k] and weights [rows, k] for router logits [rows, E] and bias [E].
    /// Mirrors the reference exactly, including that experts outside the kept groups compete with a score of 0
    /// (not −∞) when fewer than k experts of the kept groups have a positive biased score.
    /// </summary>
    public static (int[] Experts, float[] Weights) Route(float[] logits, int rows, int experts, float[] bias, RouterSettings settings)
    {
        var k = settings.ExpertsPerToken;
        var chosen = new int[rows * k];
        var weights = new float[rows * k];
        var perGroup = experts / settings.Groups;
        for (var t = 0; t < rows; t++)
        {
            var scores = new float[experts]; // s = sigmoid(logits): [E]
            var biased = new float[experts]; // b = s + bias: [E]
            for (var e = 0; e < experts; e++)
            {
                scores[e] = 1f / (1f + MathF.Exp(-logits[t * experts + e]));
                biased[e] = scores[e] + bias[e];
            }

            // group score = sum of the (up to) two best biased scores of the group
            var groupScores = new float[settings.Groups];
            for (var g = 0; g < settings.Groups; g++)
            {
                var best = LargestIndices(biased.AsSpan(g * perGroup, perGroup), Math.Min(2, perGroup));
                foreach (var index in best)
                {
                    groupScores[g] += biased[g * perGroup + index];
                }
            }

            var keptGroups = LargestIndices(groupScores, settings.KeptGroups);
            var candidates = new float[experts]; // b, with experts of dropped groups set to 0 as in the reference
            foreach (var g in keptGroups)
            {
                biased.AsSpan(g * perGroup, perGroup).CopyTo(candidates.AsSpan(g * perGroup, perGroup));
            }

            var picked = LargestIndices(candidates, k);
            var sum = 0f;
            for (var i = 0; i < k; i++)
            {
                chosen[t * k + i] = picked[i];
                weights[t * k + i] = scores[picked[i]];
                sum += scores[picked[i]];
            }

            var factor = settings.ScalingFactor / (settings.NormalizeWeights ? sum + 1e-20f : 1f);
            TensorPrimitives.Multiply(weights.AsSpan(t * k, k), factor, weights.AsSpan(t * k, k));
        }

        return (chosen, weights);
    }

    /// <summary>
    /// Σ_k w[t, k] · Expert_{chosen[t, k]}(x[t]) over the experts held here (experts[i] is expert firstExpert + i; pairs
    /// routed elsewhere are skipped): rows are grouped by expert so each expert runs once on its rows.
    /// </summary>
    public static float[] MixExperts(float[] x, int rows, int hidden, int[] chosen, float[] weights, int k, IReadOnlyList<FeedForwardWeights> experts,
        int firstExpert = 0)
    {
        var output = new float[rows * hidden];
        var assignments = new List<(int Row, float Weight)>[experts.Count];
        for (var i = 0; i < chosen.Length; i++)
        {
            var local = chosen[i] - firstExpert;
            if ((uint)local < (uint)experts.Count)
            {
                (assignments[local] ??= []).Add((i / k, weights[i]));
            }
        }

        for (var e = 0; e < experts.Count; e++)
        {
            if (assignments[e] is not { } assigned)
            {
                continue;
            }

            var gathered = new float[assigned.Count * hidden]; // [n, H]
            for (var i = 0; i < assigned.Count; i++)
            {
                x.AsSpan(assigned[i].Row * hidden, hidden).CopyTo(gathered.AsSpan(i * hidden, hidden));
            }

            var expert = experts[e];
            var result = FeedForward(gathered, assigned.Count, hidden, (CpuTensor)expert.Gate, (CpuTensor)expert.Up, (CpuTensor)expert.Down); // [n, H]
            for (var i = 0; i < assigned.Count; i++)
            {
                var target = output.AsSpan(assigned[i].Row * hidden, hidden);
                TensorPrimitives.MultiplyAdd(result.AsSpan(i * hidden, hidden), assigned[i].Weight, target, target);
            }
        }

        return output;
    }

    /// <summary>Indices of the <paramref name="count"/> largest values, largest first (ties → lower index).</summary>
    internal static int[] LargestIndices(ReadOnlySpan<float> values, int count)
    {
        var order = new int[values.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var copy = values.ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byValue = copy[b].CompareTo(copy[a]);
            return byValue != 0 ? byValue : a.CompareTo(b);
        });
        return order[..count];
    }
}
