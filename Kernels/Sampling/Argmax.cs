using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Sampling;

/// <summary>
/// Greedy decoding: per row of logits, the index of the largest value; ties go to the smallest index (like
/// torch.argmax), NaN is ignored, and a row with nothing above −∞ gives 0. One group per row: each thread keeps
/// its first best over a strided slice, then two group reductions find the maximum and the smallest index holding it.
/// A library kernel for callers that keep logits on the device (one id per row comes back, not the logits); the runtime
/// samples on the host, where it also checks the logits and applies the repeat penalty (Kernels/README.md).
/// </summary>
public static partial class ArgmaxKernels
{
    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void Argmax(
        ArrayView<float> logits, // [rows, vocab]
        ArrayView<int> output,   // [rows]
        int rows,
        int vocab,
        [Constant(1, 256)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = (long)row * vocab;
        float best = float.NegativeInfinity;
        int bestIndex = -1;
        for (int i = thread; i < vocab; i += groupSize)
        {
            float v = logits[start + i];
            if (v > best)
            {
                best = v;
                bestIndex = i;
            }
        }
        float max = KsGroup.Max(best);
        // Indices below 2^24 are exact in a float; the largest −index is the smallest index holding the maximum.
        float candidate = bestIndex >= 0 && best == max ? -(float)bestIndex : float.NegativeInfinity;
        float winner = KsGroup.Max(candidate);
        if (thread == 0)
            output[row] = winner == float.NegativeInfinity ? 0 : (int)(-winner);
    }
}
