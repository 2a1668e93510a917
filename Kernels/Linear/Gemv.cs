using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Matrix–vector products for decode: y[b, o] = Σ_i W[o, i] · x[b, i] with W in fp32, bf16 or fp8 e4m3 with
/// 128×128 block scales (DeepSeek's checkpoint layout), always accumulated in fp32. One group per (output row,
/// batch row); the batch rides on grid Y, so a decode batch re-reads each weight row from cache rather than memory.
/// </summary>
/// <remarks>
/// Two shapes of the same kernel, picked by the <c>groupSize</c> constant:
/// 1 — one thread per row calling a span intrinsic (<see cref="KsVector"/>, <see cref="Fp8RowDot"/>: TensorPrimitives
/// on the CPU path);
/// 128 — the GPU form: the group strides over the row with 16-byte loads (4 floats, 8 bf16, 16 fp8 values per
/// access, consecutive threads on consecutive 16-byte chunks) and ends with one group reduction.
/// Rows whose length breaks the 16-byte alignment fall back to a strided scalar loop.
/// </remarks>
public static partial class GemvKernels
{
    /// <summary>y = x Wᵀ with fp32 weights.</summary>
    [Kernel(Grid = "rows", GridY = "batch", GroupSize = "groupSize")]
    public static void GemvF32(
        ArrayView<float> weight, // [rows, cols]
        ArrayView<float> input,  // [batch, cols]
        ArrayView<float> output, // [batch, rows]
        int rows,
        int cols,
        int batch,
        [Constant(1, 128)] int groupSize)
    {
        int row = Grid.IdxX;
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        long weightStart = (long)row * cols;
        long inputStart = (long)item * cols;
        float partial = groupSize == 1
            ? KsVector.Dot(weight, weightStart, input, inputStart, cols)
            : GemvRowParts.StridedDotF32(weight, weightStart, input, inputStart, cols, thread, groupSize);
        float total = KsGroup.Sum(partial);
        if (thread == 0)
            output[(long)item * rows + row] = total;
    }

    /// <summary>y = x Wᵀ with bf16 weights (stored as raw ushort bits).</summary>
    [Kernel(Grid = "rows", GridY = "batch", GroupSize = "groupSize")]
    public static void GemvBf16(
        ArrayView<ushort> weight, // [rows, cols] bf16
        ArrayView<float> input,   // [batch, cols]
        ArrayView<float> output,  // [batch, rows]
        int rows,
        int cols,
        int batch,
        [Constant(1, 128)] int groupSize)
    {
        int row = Grid.IdxX;
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        long weightStart = (long)row * cols;
        long inputStart = (long)item * cols;
        float partial = groupSize == 1
            ? KsVector.DotBf16(weight, weightStart, input, inputStart, cols)
            : GemvRowParts.StridedDotBf16(weight, weightStart, input, inputStart, cols, thread, groupSize);
        float total = KsGroup.Sum(partial);
        if (thread == 0)
            output[(long)item * rows + row] = total;
    }

    /// <summary>
    /// y = x Wᵀ with fp8 e4m3 weights dequantized on the fly: W[o, i] = fp8(o, i) · scaleInv[o / 128, i / 128].
    /// Each 128-column block is summed unscaled, then multiplied by its one scale (fewer multiplies, same math).
    /// </summary>
    [Kernel(Grid = "rows", GridY = "batch", GroupSize = "groupSize")]
    public static void GemvFp8(
        ArrayView<byte> weight,    // [rows, cols] e4m3
        ArrayView<float> scaleInv, // [ceil(rows/128), ceil(cols/128)]
        ArrayView<float> input,    // [batch, cols]
        ArrayView<float> output,   // [batch, rows]
        int rows,
        int cols,
        int batch,
        [Constant(1, 128)] int groupSize)
    {
        int row = Grid.IdxX;
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        long weightStart = (long)row * cols;
        long inputStart = (long)item * cols;
        long scaleStart = (long)(row / GemvRowParts.Fp8Block) * ((cols + GemvRowParts.Fp8Block - 1) / GemvRowParts.Fp8Block);
        float partial = groupSize == 1
            ? Fp8RowDot.Dot(weight, weightStart, scaleInv, scaleStart, input, inputStart, cols)
            : GemvRowParts.StridedDotFp8(weight, weightStart, scaleInv, scaleStart, input, inputStart, cols, thread, groupSize);
        float total = KsGroup.Sum(partial);
        if (thread == 0)
            output[(long)item * rows + row] = total;
    }
}
