using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    [Kernel(Grid = "queryCount", GridY = "(keyCount + groupSize - 1) / groupSize", GroupSize = "groupSize")]
    public static void IndexerScoresBf16(
        ArrayView<float> queries,      // [S, H, D] index queries after RoPE
        ArrayView<float> headWeights,  // [S, H] w[s,h]
        ArrayView<ushort> keys,        // [T, D] index keys, bf16 bits
        ArrayView<float> scores,       // [S, T] out
        int queryCount,
        int keyCount,
        int heads,
        int dim,
        float scale,
        int causalOffset,
        [Constant(128, 1)] int groupSize)
    {
        int s = Grid.IdxX;
        int t = Grid.IdxY * Group.DimX + Group.IdxX;
        if (t >= keyCount)
            return;
        float total = float.NegativeInfinity;
        if (t <= s + causalOffset)
        {
            total = 0f;
            for (int h = 0; h < heads; h++)
            {
                float dot = KsVector.DotBf16(keys, (long)t * dim, queries, ((long)s * heads + h) * dim, dim);
                total += headWeights[(long)s * heads + h] * IndexerMath.Relu(scale * dot);
            }
        }
        scores[(long)s * keyCount + t] = total;
    }
}
