using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// destination[t·rowStride + h·headStride + d] = source[h, t, d]: per-head results of a prompt's kv_b projections,
    /// computed head-major by the grouped tensor-core GEMM, put back into a token-major layout (q_abs into the attention's
    /// query rows [T, H, L+R], or the value outputs into o_proj's input [T, H·v]). The inverse of
    /// <see cref="HeadsToBf16"/>'s layout change, without rounding. One thread per element.
    /// </summary>
    [Kernel(Grid = "(int)(((long)heads * tokens * width + 255) / 256)", GroupSize = "256")]
    public static void ScatterHeads(
        ArrayView<float> source,      // [H, T, width]
        ArrayView<float> destination, // [T, rowStride]: head h's part at column h·headStride
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
        destination[(long)t * rowStride + (long)h * headStride + d] = source[i];
    }
}
