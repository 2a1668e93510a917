using System.Numerics.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Cpu;

/// <summary>The lightning indexer's scores and top-k key selection.</summary>
internal static class CpuIndexer
{
    /// <summary>
    /// scores[t, j] = Σ_h w[t, h] · ReLU(q[t, h] · K[j]) for j ≤ position(t), −∞ for the other columns.
    /// q [rows, heads·dim], w [rows, heads], each segment's IndexKeys [maxContext, dim] → [rows, keyColumns].
    /// </summary>
    public static float[] Scores(float[] q, float[] headWeights, int rows, int heads, int dim, IReadOnlyList<AttentionSegment> segments, int keyColumns)
    {
        var scores = new float[rows * keyColumns];
        Array.Fill(scores, float.NegativeInfinity);
        foreach (var segment in segments)
        {
            var keys = ((CpuTensor)segment.IndexKeys).Values;
            CpuParallel.For(segment.RowCount, (long)segment.KeyCount * heads * dim, (start, end) =>
            {
                for (var r = start; r < end; r++)
                {
                    var t = segment.FirstRow + r;
                    var position = segment.StartPosition + r;
                    var queryRow = q.AsSpan(t * heads * dim, heads * dim);
                    var weights = headWeights.AsSpan(t * heads, heads);
                    var output = scores.AsSpan(t * keyColumns, keyColumns);
                    for (var j = 0; j <= position; j++)
                    {
                        var key = keys.AsSpan(j * dim, dim);
                        var score = 0f;
                        for (var h = 0; h < heads; h++)
                        {
                            score += weights[h] * MathF.Max(0f, TensorPrimitives.Dot(queryRow.Slice(h * dim, dim), key));
                        }

                        output[j] = score;
                    }
                }
            });
        }

        return scores;
    }

    /// <summary>
    /// Per row, the min(k, position + 1) keys with the largest scores among keys 0..position (ties → lower index),
    /// followed by −1 → [rows, k]. scores [rows, keyColumns].
    /// </summary>
    public static int[] TopK(float[] scores, int rows, int keyColumns, int k, IReadOnlyList<AttentionSegment> segments)
    {
        var selected = new int[rows * k];
        Array.Fill(selected, -1);
        foreach (var segment in segments)
        {
            CpuParallel.For(segment.RowCount, (long)segment.KeyCount * 8, (start, end) =>
            {
                for (var r = start; r < end; r++)
                {
                    var t = segment.FirstRow + r;
                    var candidates = segment.StartPosition + r + 1;
                    var output = selected.AsSpan(t * k, k);
                    if (candidates <= k)
                    {
                        // Every visible key fits: the layer is exactly dense causal attention for this row.
                        for (var j = 0; j < candidates; j++)
                        {
                            output[j] = j;
                        }

                        continue;
                    }

                    var row = scores.AsSpan(t * keyColumns, candidates);
                    var order = new int[candidates];
                    for (var j = 0; j < candidates; j++)
                    {
                        order[j] = j;
                    }

                    var rowScores = row.ToArray();
                    Array.Sort(order, (a, b) =>
                    {
                        var byScore = rowScores[b].CompareTo(rowScores[a]);
                        return byScore != 0 ? byScore : a.CompareTo(b);
                    });
                    order.AsSpan(0, k).CopyTo(output);
                }
            });
        }

        return selected;
    }
}
