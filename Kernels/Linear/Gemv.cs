using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Matrix–vector products for decode: y[b, o] = Σ_i W[o, i] · x[b, i] with W in any storage format
/// (<see cref="IRowFormat{TSelf}"/>: fp32, bf16, fp8 e4m3 with 128×128 block scales), always accumulated in fp32.
/// One group per (output row, batch row); the batch rides on grid Y, so a decode batch re-reads each weight row from
/// cache rather than memory.
/// </summary>
/// <remarks>
/// Two shapes of the same kernel, picked by the <c>groupSize</c> constant:
/// 1 — one thread per row with the format's whole-row dot (TensorPrimitives on the CPU path);
/// 128 — the GPU form: the group strides over the row with 16-byte loads (4 floats, 8 bf16, 16 fp8 values per
/// access, consecutive threads on consecutive 16-byte chunks) and ends with one group reduction.
/// <see cref="GemvRows{TWeights}"/> is the GPU's faster form for decode (several rows per warp).
/// </remarks>
public static partial class GemvKernels
{
    [Kernel(Grid = "rows", GridY = "batch", GroupSize = "groupSize")]
    public static void Gemv<TWeights>(
        TWeights weight,          // [rows, cols]
        ArrayView<float> input,   // [batch, cols]
        ArrayView<float> output,  // [batch, rows]
        int rows,
        int cols,
        int batch,
        [Constant(1, 128)] int groupSize)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int row = Grid.IdxX;
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        long inputStart = (long)item * cols;
        // The host runs a row against a block of items in one call (GemvHost); on a GPU this is false and folds away.
        bool doneOnHost = groupSize == 1 && GemvHost.RowItems(weight, input, output, row, item, rows, cols, batch);
        float partial = doneOnHost ? 0f
            : groupSize == 1 ? weight.RowDot(row, cols, input, inputStart)
            : weight.StridedRowDot(row, cols, input, inputStart, thread, groupSize);
        float total = KsGroup.Sum(partial);
        if (thread == 0 && !doneOnHost)
            output[(long)item * rows + row] = total;
    }
}
