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
/// On the host the generated CPU path calls <see cref="GemvHost{TWeights}"/> per group instead of the body.
/// </remarks>
public static partial class GemvKernels
{
    [Kernel(Grid = "rows", GridY = "batch", GroupSize = "groupSize", HostGroup = nameof(GemvHost), HostGroupSpanX = HostRows,
        HostGroupSpanY = HostRowDots.ItemBlock)]
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
        float partial = groupSize == 1
            ? weight.RowDot(row, cols, input, inputStart)
            : weight.StridedRowDot(row, cols, input, inputStart, thread, groupSize);
        float total = KsGroup.Sum(partial);
        if (thread == 0)
            output[(long)item * rows + row] = total;
    }

    /// <summary>
    /// The host form of the groups rows <paramref name="row"/> … + <see cref="HostRows"/> − 1 and items
    /// <paramref name="item"/> … + 3 (the kernel's host group span; the CPU path calls it once per such block): the block's
    /// weight rows times its items (<see cref="HostRowDots.RowTimesItems{TWeights}"/>: each 32-value chunk of a row loaded
    /// and widened once for the items, an item's sum the same operations whatever the batch around it; one item: the rows
    /// dotted in registers, two per pass). A decode row of a small expert streams in about 100 ns, so a call and its
    /// checks per row, or per group of a 1-row span, cost as much as the row.
    /// </summary>
    private static void GemvHost<TWeights>(TWeights weight, ArrayView<float> input, ArrayView<float> output, int rows, int cols, int batch,
        int groupSize, int row, int item)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int items = Math.Min(HostRowDots.ItemBlock, batch - item);
        int end = Math.Min(row + HostRows, rows);
        if (items == 1)
        {
            // Decode: the group's rows in one call, each row's sum the same as alone.
            Span<float> rowSums = stackalloc float[HostRows];
            if (weight.TryRowsDotCpu(row, end - row, cols, input, (long)item * cols, rowSums))
            {
                for (int r = row; r < end; r++)
                    output[(long)item * rows + r] = rowSums[r - row];
                return;
            }
        }
        Span<float> sums = stackalloc float[HostRowDots.ItemBlock];
        for (int r = row; r < end; r++)
        {
            HostRowDots.RowTimesItems(weight, r, cols, input, (long)item * cols, cols, items, sums);
            for (int i = 0; i < items; i++)
                output[(long)(item + i) * rows + r] = sums[i];
        }
    }

    /// <summary>Weight rows one host group multiplies (see <see cref="GemvHost{TWeights}"/>).</summary>
    private const int HostRows = 16;
}
