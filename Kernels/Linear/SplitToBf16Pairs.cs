using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

public static partial class GemvKernels
{
    /// <summary>
    /// The activations of <see cref="TensorCoreGemv{TWeights, TItems}"/> split once per launch instead of once per weight
    /// group: each run of 4 values x[c … c + 3] (c a multiple of 4) becomes 4 words at the same place,
    /// [hi(c, c+1), hi(c+2, c+3), lo(c, c+1), lo(c+2, c+3)] with hi = bf16(x) and lo = bf16(x − hi), two bf16 per word, the
    /// lower column in the low half (<see cref="TensorCoreGemvTiles.SplitPair"/>): one 16-byte load is then a lane's
    /// hi and lo A-fragment words of one item row and k-step. Measured without it on an H200, the GEMV's groups spent
    /// their time re-splitting the same activations (batch 1 at 0.15–0.5 of the copy ceiling).
    /// </summary>
    [Kernel(Grid = "(count / 4 + 255) / 256", GroupSize = "256")]
    public static void SplitToBf16Pairs(
        ArrayView<float> input, // [count] fp32, count a multiple of 4
        ArrayView<uint> split,  // [count] words, as above
        int count)
    {
        int run = Grid.IdxX * Group.DimX + Group.IdxX;
        if (run >= count / 4)
            return;
        long at = 4L * run;
        var (hi0, lo0) = TensorCoreGemvTiles.SplitPair(input[at], input[at + 1]);
        var (hi1, lo1) = TensorCoreGemvTiles.SplitPair(input[at + 2], input[at + 3]);
        split[at] = hi0;
        split[at + 1] = hi1;
        split[at + 2] = lo0;
        split[at + 3] = lo1;
    }
}
