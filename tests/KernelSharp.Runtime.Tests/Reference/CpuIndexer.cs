using System.Numerics.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>The lightning indexer's scores and top-k key selection.</summary>
internal static class CpuIndexer
{
    /// <summary>Query rows scored per block: the block's [rows·heads, keys] dot products stay small for long contexts.</summary>
    private const int RowBlock = 32;

    /// <summary>
    /// scores[t, j] = Σ_h w[t, h] · ReLU(q[t, h] · K[j]) for j ≤ position(t), −∞ for the other columns.
    /// q [rows, heads·dim], w [rows, heads], each segment's IndexKeys [maxContext, dim] → [rows, keyColumns].
    /// The dot products of a block of rows with all keys are one matrix product ([rows·heads, dim] · [keys, dim]ᵀ).
    /// </summary>
    public static float[] Scores(float[] q, float[] headWeights, int rows, int heads, int dim, IReadOnlyList<AttentionSegment> segments, int keyColumns)
    {
        var scores = new float[rows * keyColumns];
        Array.Fill(scores, float.NegativeInfinity);
        foreach (var segment in segments)
        {
            var keys = KeysInOrder(((CpuTensor)segment.IndexKeys).Values, segment, dim); // [≥ KeyCount, dim], key j in row j
            for (var first = 0; first < segment.RowCount; first += RowBlock)
            {
                var count = Math.Min(RowBlock, segment.RowCount - first);
                var t0 = segment.FirstRow + first;
                var keyCount = segment.StartPosition + first + count; // keys visible to the block's last row
                var queries = new ReadOnlyMemory<float>(q, t0 * heads * dim, count * heads * dim);
                var dots = CpuLinear.Forward(queries, count * heads, dim, keys, keyCount); // [count·heads, keyCount]
                for (var r = 0; r < count; r++)
                {
                    var t = t0 + r;
                    var visible = segment.StartPosition + first + r + 1;
                    var output = scores.AsSpan(t * keyColumns, visible);
                    output.Clear();
                    for (var h = 0; h < heads; h++)
                    {
                        var headDots = dots.AsSpan(((r * heads) + h) * keyCount, visible);
                        TensorPrimitives.Max(headDots, 0f, headDots); // ReLU
                        TensorPrimitives.MultiplyAdd(headDots, headWeights[(t * heads) + h], output, output);
                    }
                }
            }
        }

        return scores;
    }

    /// <summary>
    /// The segment's index keys with position j in row j: the cache itself when it is not paged, else its rows gathered
    /// from the pool's blocks once per call (dim floats per key, small next to the heads·dim products each key takes part in).
    /// </summary>
    private static float[] KeysInOrder(float[] cache, AttentionSegment segment, int dim)
    {
        if (segment.Blocks is not { } blocks)
        {
            return cache;
        }

        var keys = new float[segment.KeyCount * dim];
        foreach (var (row, offset, count) in blocks.Runs(0, segment.KeyCount))
        {
            cache.AsSpan(row * dim, count * dim).CopyTo(keys.AsSpan(offset * dim));
        }

        return keys;
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
