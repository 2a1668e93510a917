using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Linear;

public static partial class TensorCoreGemmKernels
{
    /// <summary>
    /// target = bf16(W_fp8 · scale): an FP8 weight [n, k] with its 128×128 block scales widened to bf16, rounded exactly
    /// as <see cref="TensorCoreGemm{TWeights, TItems}"/> rounds FP8 weights into shared memory (so the same kernel on the
    /// bf16 result computes what it computes on the FP8 weight, bit for bit). For long prompts: converting inside the GEMM
    /// costs the FP8 kernel half its speed (its integer work per k step rivals the mma time), while this pass is
    /// memory-bound, 3 bytes per weight (about 0.1 ms for 18432 × 7168 at 3.5 TB/s against 3.3 ms of bf16 GEMM at
    /// 4096 rows). Each thread widens a run of 16 weights of one row (one 16-byte load, two 16-byte stores when rows
    /// start on 16 bytes); a run never crosses a 128-column scale block.
    /// </summary>
    [Kernel(Grid = "(int)(((long)n * ((k + 15) / 16) + 255) / 256)", GroupSize = "256")]
    public static void WidenFp8WeightsToBf16(
        ArrayView<byte> weight,    // [n, k] e4m3
        ArrayView<float> scaleInv, // [ceil(n/128), ceil(k/128)]
        ArrayView<ushort> target,  // [n, k] bf16
        int n,
        int k)
    {
        int runsPerRow = (k + 15) / 16;
        long run = (long)Grid.IdxX * 256 + Group.IdxX;
        if (run >= (long)n * runsPerRow)
            return;
        int row = (int)(run / runsPerRow);
        int column = (int)(run % runsPerRow) * 16;
        float scale = scaleInv[(long)(row / ScaleBlock) * ((k + ScaleBlock - 1) / ScaleBlock) + column / ScaleBlock];
        long origin = (long)row * k + column;
        if (CanCopy16(weight, k) && CanCopy16(target, k))
        {
            // k a multiple of 16: the run is whole, and its 16 bytes and 32 output bytes sit on 16-byte boundaries.
            var codes = weight.SubView(origin, 16).AsAligned(16).Cast<Words4>()[0];
            var output = target.SubView(origin, 16).AsAligned(16).Cast<Words4>();
            output[0] = new Words4(ScaledPair(codes.X, 0, scale), ScaledPair(codes.X, 16, scale), ScaledPair(codes.Y, 0, scale), ScaledPair(codes.Y, 16, scale));
            output[1] = new Words4(ScaledPair(codes.Z, 0, scale), ScaledPair(codes.Z, 16, scale), ScaledPair(codes.W, 0, scale), ScaledPair(codes.W, 16, scale));
            return;
        }
        int count = k - column < 16 ? k - column : 16;
        for (int e = 0; e < count; e++)
            target[origin + e] = (ushort)ScaledBf16(weight[origin + e], scale);
    }
}
