namespace KernelSharp.Kernels.TopK;

/// <summary>
/// Reference of <see cref="TopKKernels.TopKSelect"/>: sort each row's valid keys by (score descending, index
/// ascending), keep the first k, return them in ascending index order. −∞ and NaN are masked; −0 equals +0.
/// </summary>
public static class TopKSelectReference
{
    /// <summary>scores: [rows, rowStride]; returns per row the selected indices (ascending).</summary>
    public static int[][] Select(float[] scores, int rows, int length, long rowStride, int k)
    {
        var result = new int[rows][];
        for (int r = 0; r < rows; r++)
        {
            var valid = new List<int>();
            for (int t = 0; t < length; t++)
            {
                float s = scores[r * rowStride + t];
                if (!float.IsNaN(s) && !float.IsNegativeInfinity(s))
                {
                    valid.Add(t);
                }
            }
            // float comparison treats −0 == +0, which is the documented tie rule.
            valid.Sort((a, b) =>
            {
                float sa = scores[r * rowStride + a];
                float sb = scores[r * rowStride + b];
                return sa != sb ? sb.CompareTo(sa) : a.CompareTo(b);
            });
            int[] chosen = valid.Take(Math.Min(k, valid.Count)).ToArray();
            Array.Sort(chosen);
            result[r] = chosen;
        }
        return result;
    }
}
