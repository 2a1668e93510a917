using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Decode GEMV, warp-per-rows form: y[b, o] = Σ_i W[o, i] · x[b, i] like <see cref="GemvKernels.Gemv{TWeights}"/>, but
/// the 4 warps of a 128-thread group own sets of <c>rowsPerWarp</c> consecutive output rows, each set walked by
/// <c>warpsPerRow</c> warps (1: every warp its own rows; 4: the whole group splits the columns of one set, for short
/// matrices where one warp per row leaves SMs idle) in 16-byte chunks. Why: one group per row spends a group-wide
/// reduction (barriers) per row and keeps one 16-byte weight load in flight per thread, which leaves the expert shapes
/// (2048×7168, ~11 µs) and the fp8 rows short of the memory ceiling. Here each lane has <c>rowsPerWarp · chunksInFlight</c>
/// independent 16-byte weight loads in flight per step (<see cref="IRowFormat{TSelf}.WarpRowPartials"/>), reads each
/// activation chunk once for all its rows, and the reduction is warp shuffles. A batch of decode rows (many sequences in
/// one step) is walked <c>itemsPerWarp</c> items at a time: each weight chunk is loaded once for 4 items, so a batch of
/// 64 reads the weights 16 times rather than 64.
/// </summary>
/// <remarks>
/// The launcher's autotuner picks (rowsPerWarp, chunksInFlight, warpsPerRow) per (rows, cols) — both are [Shape]
/// parameters for that reason only: many rows per warp reuse activations and hide latency on tall matrices; few rows per
/// warp keep enough warps on the 132 SMs for short ones (an expert's 2048 rows).
/// The caller picks <c>itemsPerWarp</c> (1 or 4) from the batch; it shares the tuning of its (rows, cols)
/// (<c>SharesTuning</c>), because warpsPerRow decides which lane adds which chunk: with one choice per shape, an item's
/// sums are the same additions in the same order in every batch, so a sequence's tokens do not depend on its neighbours.
/// </remarks>
public static partial class GemvKernels
{
    /// <summary>Warps per 128-thread group of <see cref="GemvRows{TWeights}"/>.</summary>
    public const int WarpsPerGroup = 4;

    [Kernel(Grid = "(rows + 4 / warpsPerRow * rowsPerWarp - 1) / (4 / warpsPerRow * rowsPerWarp)",
        GridY = "(batch + itemsPerWarp - 1) / itemsPerWarp", GroupSize = "128")]
    public static void GemvRows<TWeights>(
        TWeights weight,          // [rows, cols]
        ArrayView<float> input,   // [batch, cols]
        ArrayView<float> output,  // [batch, rows]
        [Shape] int rows, // [Shape] without values: no folding, but the autotuner keys its choice on (rows, cols)
        [Shape] int cols,
        int batch,
        [Shape(1, 4, SharesTuning = true)] int itemsPerWarp,
        [Constant(1, 2, 4)] int rowsPerWarp,
        [Constant(2, 4)] int chunksInFlight,
        [Constant(1, 4)] int warpsPerRow)
        where TWeights : struct, IRowFormat<TWeights>
    {
        var warpSums = SharedMemory.Allocate<float>(4 * WarpsPerGroup * 4); // [4 items, 4 warps, 4 rows]
        int firstItem = Grid.IdxY * itemsPerWarp;
        int thread = Group.IdxX;
        int lane = KsWarp.LaneIdx;
        int warp = thread / KsWarp.Size;
        int rowsPerGroup = WarpsPerGroup / warpsPerRow * rowsPerWarp;
        int firstRow = Grid.IdxX * rowsPerGroup + warp / warpsPerRow * rowsPerWarp;
        // rowsPerWarp, warpsPerRow and so rowsPerGroup are powers of two: the remainders below are masks. ILGPU emits a
        // signed rem for `%`, which ptxas turned into a reciprocal-based division (I2F, MUFU.RCP, IMAD.HI, fix-ups),
        // and in the store below it was recomputed on every pass of the warp-sum loop.
        int slice = warp & (warpsPerRow - 1); // which interleaved share of the columns this warp takes
        var itemStarts = new ItemStarts(ItemStart(firstItem, batch, cols), ItemStart(firstItem + 1, batch, cols),
            ItemStart(firstItem + 2, batch, cols), ItemStart(firstItem + 3, batch, cols));
        ItemRowSums partials = weight.WarpRowPartials(rows, cols, input, itemStarts, itemsPerWarp, firstRow, rowsPerWarp, chunksInFlight,
            slice * KsWarp.Size + lane, warpsPerRow * KsWarp.Size);
        for (int k = 0; k < itemsPerWarp; k++)
        {
            for (int j = 0; j < rowsPerWarp; j++)
            {
                float total = KsWarp.Sum(partials.Row(k, j));
                if (lane == 0)
                    warpSums[(k * WarpsPerGroup + warp) * 4 + j] = total;
            }
        }
        KsGroup.Barrier();
        int item = thread / rowsPerGroup; // this thread's store: one (item, row) of the group's
        if (item < itemsPerWarp && firstItem + item < batch)
            StoreWarpRow(warpSums.SubView(item * WarpsPerGroup * 4, WarpsPerGroup * 4), output, (long)(firstItem + item) * rows,
                Grid.IdxX * rowsPerGroup, rows, thread & (rowsPerGroup - 1), rowsPerWarp, warpsPerRow);
    }

    /// <summary>Where batch item <paramref name="item"/>'s activations start; past the batch, the last item's (read, never stored).</summary>
    private static long ItemStart(int item, int batch, int cols) => (long)(item < batch ? item : batch - 1) * cols;

    /// <summary>
    /// Row <paramref name="localRow"/> of the group's rows: the sum of the warp sums of the <paramref name="warpsPerRow"/>
    /// warps that shared it (warpSums[warp, j] for the row's slot j), written unless the row is past the end.
    /// <paramref name="warpsPerRow"/> is 1 or 4 and <paramref name="rowsPerWarp"/> 1, 2 or 4 (the kernel's constants).
    /// </summary>
    private static void StoreWarpRow(ArrayView<float> warpSums, ArrayView<float> output, long outputStart, int groupFirstRow, int rows,
        int localRow, int rowsPerWarp, int warpsPerRow) // warpSums: [4 warps, 4 rows], shared; output: [batch, rows]
    {
        // The row's first warp sum (first warp · 4 + slot; the slot a mask, rowsPerWarp being 1, 2 or 4) and, for
        // warpsPerRow = 4, the next three warps' written out: a loop here kept the slot's signed remainder inside it
        // (a reciprocal-based division per pass in the SASS), on the critical path of every group's end, which is a
        // large part of a short GEMV's group (2048 columns are two chunks per lane). The additions and their order are
        // the loop's: (((0 + w0) + w1) + w2) + w3, with 0 + w0 as a select because ILGPU folds 0 + x to x, which would
        // keep a −0 that 0 + w0 turns into +0.
        int first = localRow / rowsPerWarp * warpsPerRow * 4 + (localRow & (rowsPerWarp - 1));
        float w0 = warpSums[first];
        float sum = w0 == 0f ? 0f : w0;
        if (warpsPerRow == 4)
        {
            float w1 = warpSums[first + 4];
            float w2 = warpSums[first + 8];
            float w3 = warpSums[first + 12];
            sum = sum + w1 + w2 + w3;
        }
        int row = groupFirstRow + localRow;
        if (row < rows)
            output[outputStart + row] = sum;
    }
}
