using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Rope;

/// <summary>
/// Rotary position embedding applied in place to the rope slice of every (token, head) of a projection output,
/// reading cos/sin tables built by <see cref="RopeFrequencies.BuildTables"/> ([positions, d/2], YaRN scaling
/// already folded in). One thread per rotated pair.
/// x: [tokens, tokenStride] floats; head h's rope slice starts at h·headStride + ropeOffset and is ropeDim long,
/// so q ([tokens, heads, nope+rope], offset nope), k_pe and the indexer's rope-first heads all fit.
/// </summary>
/// <remarks>
/// Interleaved keeps the pairs (x[2i], x[2i+1]) in place, as DeepSeek's complex-number form does. transformers
/// de-interleaves first (same rotation, pairs moved to (x[i], x[i+d/2])): q·k is identical because q and k get
/// the same permutation, but element-wise comparisons with transformers must undo it.
/// </remarks>
public static partial class RopeKernels
{
    /// <summary>MLA rope: pairs (x[2i], x[2i+1]) rotate by frequency i.</summary>
    [Kernel(Grid = "(tokens * heads * (ropeDim / 2) + 255) / 256", GroupSize = "256")]
    public static void RopeInterleaved(
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
            Rotate(x, start + 2 * i, start + 2 * i + 1, cos, sin, (long)positions[token] * half + i);
        }
    }
}
