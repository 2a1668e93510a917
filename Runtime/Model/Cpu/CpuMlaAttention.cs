using System.Numerics.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Cpu;

/// <summary>
/// Sparse multi-head latent attention in the absorbed (MQA) form: every head reads the same cached latent c and
/// k_pe, and kv_b_proj is folded into the query (for keys) and into the output (for values).
/// </summary>
internal static class CpuMlaAttention
{
    /// <param name="q">[rows, heads·(nope+rope)], q_pe already rotated.</param>
    /// <param name="kvB">kv_b_proj [heads·(nope+v), latent]: per head, nope rows of W_k then v rows of W_v.</param>
    /// <param name="selected">[rows, k] key indices (−1 = unused), or null for dense causal attention.</param>
    /// <returns>[rows, heads·v]</returns>
    public static float[] Forward(float[] q, int rows, float[] kvB, MlaDimensions dims, float softmaxScale, IReadOnlyList<AttentionSegment> segments, int[]? selected, int selectedColumns)
    {
        var output = new float[rows * dims.Heads * dims.ValueDim];
        var headRows = dims.NopeDim + dims.ValueDim; // rows of kv_b_proj per head
        foreach (var segment in segments)
        {
            var latent = ((CpuTensor)segment.Latent).Values;   // [maxContext, latent]
            var ropeKeys = ((CpuTensor)segment.RopeKeys).Values; // [maxContext, rope]
            var work = (long)segment.KeyCount * (dims.LatentDim + dims.RopeDim) * 2 + (long)headRows * dims.LatentDim;
            CpuParallel.For(segment.RowCount * dims.Heads, work, (start, end) =>
            {
                var queryAbsorbed = new float[dims.LatentDim]; // [latent]
                var outputLatent = new float[dims.LatentDim];  // [latent]
                var keys = new List<int>();
                var probabilities = new List<float>();
                for (var item = start; item < end; item++)
                {
                    var r = item / dims.Heads;
                    var h = item % dims.Heads;
                    var t = segment.FirstRow + r;
                    var position = segment.StartPosition + r;
                    var queryHead = q.AsSpan((t * dims.Heads + h) * dims.QueryHeadDim, dims.QueryHeadDim);
                    var queryNope = queryHead[..dims.NopeDim];
                    var queryRope = queryHead[dims.NopeDim..];

                    // q_abs = q_nope · W_k[h]  (W_k[h] = kv_b rows h·(nope+v) .. +nope) → [latent]
                    Array.Clear(queryAbsorbed);
                    for (var n = 0; n < dims.NopeDim; n++)
                    {
                        var weightRow = kvB.AsSpan((h * headRows + n) * dims.LatentDim, dims.LatentDim);
                        TensorPrimitives.MultiplyAdd(weightRow, queryNope[n], queryAbsorbed, queryAbsorbed);
                    }

                    CollectKeys(keys, selected, selectedColumns, t, position);

                    // scores over the selected keys, softmax in fp32 with the running maximum subtracted
                    probabilities.Clear();
                    var maximum = float.NegativeInfinity;
                    foreach (var j in keys)
                    {
                        var score = (TensorPrimitives.Dot(queryAbsorbed, latent.AsSpan(j * dims.LatentDim, dims.LatentDim))
                                     + TensorPrimitives.Dot(queryRope, ropeKeys.AsSpan(j * dims.RopeDim, dims.RopeDim))) * softmaxScale;
                        probabilities.Add(score);
                        maximum = MathF.Max(maximum, score);
                    }

                    var total = 0f;
                    for (var i = 0; i < probabilities.Count; i++)
                    {
                        probabilities[i] = MathF.Exp(probabilities[i] - maximum);
                        total += probabilities[i];
                    }

                    // o_lat = Σ p_j c[j] → [latent]
                    Array.Clear(outputLatent);
                    for (var i = 0; i < keys.Count; i++)
                    {
                        TensorPrimitives.MultiplyAdd(latent.AsSpan(keys[i] * dims.LatentDim, dims.LatentDim), probabilities[i] / total, outputLatent, outputLatent);
                    }

                    // o[h] = o_lat · W_v[h]ᵀ  (W_v[h] = kv_b rows h·(nope+v)+nope .. +v) → [v]
                    var outputHead = output.AsSpan((t * dims.Heads + h) * dims.ValueDim, dims.ValueDim);
                    for (var v = 0; v < dims.ValueDim; v++)
                    {
                        var weightRow = kvB.AsSpan((h * headRows + dims.NopeDim + v) * dims.LatentDim, dims.LatentDim);
                        outputHead[v] = TensorPrimitives.Dot(outputLatent, weightRow);
                    }
                }
            });
        }

        return output;
    }

    /// <summary>The keys row t attends to: its selected keys that are visible (causal), or every key 0..position when dense.</summary>
    private static void CollectKeys(List<int> keys, int[]? selected, int selectedColumns, int t, int position)
    {
        keys.Clear();
        if (selected is null)
        {
            for (var j = 0; j <= position; j++)
            {
                keys.Add(j);
            }

            return;
        }

        foreach (var j in selected.AsSpan(t * selectedColumns, selectedColumns))
        {
            if (j >= 0 && j <= position)
            {
                keys.Add(j);
            }
        }
    }
}
