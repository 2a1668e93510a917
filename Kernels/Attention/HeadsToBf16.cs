using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// target[h, t, d] = bf16(source[t·rowStride + h·headStride + d]) for d &lt; width: one part of every head's rows of a
    /// token-major activation ([T, H, …]: q's nope parts, or o_lat), rounded to bf16 and laid head-major, so that each
    /// head's rows are one dense [T, width] block: the A operand of the per-head tensor-core GEMMs of a prompt's kv_b
    /// projections (<see cref="KvbHeadsToBf16{TWeights}"/> holds their B operands). One thread per element; neighbouring
    /// threads read neighbouring d.
    /// </summary>
    [Kernel(Grid = "(int)(((long)heads * tokens * width + 255) / 256)", GroupSize = "256")]
    public static void HeadsToBf16(
        ArrayView<float> source,  // [T, rowStride]: head h's part at column h·headStride
        ArrayView<ushort> target, // [H, T, width] bf16
        int tokens,
        int heads,
        int width,
        int rowStride,
        int headStride)
    {
        long i = (long)Grid.IdxX * 256 + Group.IdxX;
        if (i >= (long)heads * tokens * width)
            return;
        int d = (int)(i % width);
        long row = i / width; // h·T + t
        int t = (int)(row % tokens);
        int h = (int)(row / tokens);
        target[i] = Bf16.FromFloat(source[(long)t * rowStride + (long)h * headStride + d]);
    }
}
