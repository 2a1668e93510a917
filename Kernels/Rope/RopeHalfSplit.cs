using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Rope;

public static partial class RopeKernels
{
    /// <summary>Indexer rope: pairs (x[i], x[i + d/2]) rotate by frequency i (transformers' rotate_half).</summary>
    [Kernel(Grid = "(tokens * heads * (ropeDim / 2) + 255) / 256", GroupSize = "256")]
    public static void RopeHalfSplit(
        ArrayView<float> x,         // [tokens, tokenStride]
        ArrayView<int> positions,   // [tokens]
        ArrayView<float> cos,       // [positions, ropeDim/2]
        ArrayView<float> sin,       // [positions, ropeDim/2]
        int tokens,
        int heads,
        int tokenStride,
        int headStride,
        int ropeOffset,
        int ropeDim)
    {
        int half = ropeDim / 2;
        long pair = (long)Grid.IdxX * 256 + Group.IdxX;
        if (pair < (long)tokens * heads * half)
        {
            long perToken = (long)heads * half;
            int token = (int)(pair / perToken);
            int head = (int)((pair - token * perToken) / half);
            int i = (int)(pair - token * perToken - (long)head * half);
            long start = (long)token * tokenStride + (long)head * headStride + ropeOffset;
            Rotate(x, start + i, start + i + half, cos, sin, (long)positions[token] * half + i);
        }
    }
}
