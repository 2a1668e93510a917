using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Activations;

public static partial class SwiGluKernels
{
    /// <summary>
    /// The fused form for one GEMM over concatenated [gate; up] weights: each row of <paramref name="gateUp"/> is
    /// gate ‖ up; output[r, i] = silu(gateUp[r, i]) · gateUp[r, inner + i].
    /// </summary>
    [Kernel(Grid = "(rows * inner + 255) / 256", GroupSize = "256")]
    public static void SwiGluFused(
        ArrayView<float> gateUp, // [rows, 2·inner]
        ArrayView<float> output, // [rows, inner]
        int rows,
        int inner)
    {
        long i = (long)Grid.IdxX * 256 + Group.IdxX;
        if (i < (long)rows * inner)
        {
            long row = i / inner;
            long column = i - row * inner;
            long gateIndex = row * 2 * inner + column;
            output[i] = Silu(gateUp[gateIndex]) * gateUp[gateIndex + inner];
        }
    }
}
