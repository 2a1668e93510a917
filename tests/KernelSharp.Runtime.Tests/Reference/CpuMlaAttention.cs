using System.Numerics.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>
/// Sparse multi-head latent attention in the absorbed (MQA) form: every head reads the same cached latent c and
/// k_pe, and kv_b_proj is folded into the query (for keys) and into the output (for values).
/// One row is one unit of work: its key set is shared by all heads, so each cached row is read once per query row
/// and used by every head while it is in L1.
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
        var heads = dims.Heads;
        var latentDim = dims.LatentDim;
        var headRows = dims.NopeDim + dims.ValueDim; // rows of kv_b_proj per head
        foreach (var segment in segments)
        {
            var latent = ((CpuTensor)segment.Latent).Values;     // [cache rows, latent]
            var ropeKeys = ((CpuTensor)segment.RopeKeys).Values; // [cache rows, rope]
            var work = (long)heads * ((segment.KeyCount * (latentDim + dims.RopeDim) * 2L) + (headRows * latentDim));
            CpuParallel.For(segment.RowCount, work, (start, end) =>
            {
                var queryAbsorbed = new float[heads * latentDim]; // q_abs [heads, latent]
                var outputLatent = new float[heads * latentDim];  // o_lat [heads, latent]
                var keys = new List<int>();
                var scores = new float[heads * Math.Max(segment.KeyCount, 1)]; // [heads, keys]
                for (var r = start; r < end; r++)
                {
                    var t = segment.FirstRow + r;
                    CollectKeys(keys, selected, selectedColumns, t, segment.StartPosition + r);
                    ToCacheRows(keys, segment);
                    var n = keys.Count;
                    if (n == 0)
                    {
                        continue; // no visible key selected (never produced by TopK): the row attends to nothing, output 0
                    }

                    // q_abs[h] = q_nope[h] · W_k[h]  (W_k[h] = kv_b rows h·(nope+v) .. +nope) → [latent]
                    Array.Clear(queryAbsorbed);
                    for (var h = 0; h < heads; h++)
                    {
                        var queryNope = q.AsSpan((t * heads + h) * dims.QueryHeadDim, dims.NopeDim);
                        var absorbed = queryAbsorbed.AsSpan(h * latentDim, latentDim);
                        for (var d = 0; d < dims.NopeDim; d++)
                        {
                            TensorPrimitives.MultiplyAdd(kvB.AsSpan((h * headRows + d) * latentDim, latentDim), queryNope[d], absorbed, absorbed);
                        }
                    }

                    // scores[h, i] = (q_abs[h]·c[j] + q_pe[h]·k_pe[j]) · scale for the i-th selected key j
                    for (var i = 0; i < n; i++)
                    {
                        var c = latent.AsSpan(keys[i] * latentDim, latentDim);
                        var kPe = ropeKeys.AsSpan(keys[i] * dims.RopeDim, dims.RopeDim);
                        for (var h = 0; h < heads; h++)
                        {
                            var queryRope = q.AsSpan(((t * heads + h) * dims.QueryHeadDim) + dims.NopeDim, dims.RopeDim);
                            scores[h * n + i] = (TensorPrimitives.Dot(queryAbsorbed.AsSpan(h * latentDim, latentDim), c) + TensorPrimitives.Dot(queryRope, kPe)) * softmaxScale;
                        }
                    }

                    // softmax per head in fp32, maximum subtracted
                    for (var h = 0; h < heads; h++)
                    {
                        var row = scores.AsSpan(h * n, n);
                        var maximum = TensorPrimitives.Max(row);
                        TensorPrimitives.Subtract(row, maximum, row);
                        TensorPrimitives.Exp(row, row);
                        TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
                    }

                    // o_lat[h] = Σ_i p[h, i] c[j_i] → [heads, latent]
                    Array.Clear(outputLatent);
                    for (var i = 0; i < n; i++)
                    {
                        var c = latent.AsSpan(keys[i] * latentDim, latentDim);
                        for (var h = 0; h < heads; h++)
                        {
                            var accumulated = outputLatent.AsSpan(h * latentDim, latentDim);
                            TensorPrimitives.MultiplyAdd(c, scores[h * n + i], accumulated, accumulated);
                        }
                    }

                    // o[h] = o_lat[h] · W_v[h]ᵀ  (W_v[h] = kv_b rows h·(nope+v)+nope .. +v) → [v]
                    for (var h = 0; h < heads; h++)
                    {
                        var outputHead = output.AsSpan((t * heads + h) * dims.ValueDim, dims.ValueDim);
                        for (var v = 0; v < dims.ValueDim; v++)
                        {
                            var weightRow = kvB.AsSpan((h * headRows + dims.NopeDim + v) * latentDim, latentDim);
                            outputHead[v] = TensorPrimitives.Dot(outputLatent.AsSpan(h * latentDim, latentDim), weightRow);
                        }
                    }
                }
            });
        }

        return output;
    }

    /// <summary>Key positions → the cache rows that hold them (the same list when the cache is not paged).</summary>
    private static void ToCacheRows(List<int> keys, AttentionSegment segment)
    {
        if (segment.Blocks is { } blocks)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                keys[i] = blocks.Row(keys[i]);
            }
        }
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
