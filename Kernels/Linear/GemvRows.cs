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
/// activation chunk once for all its rows, and the reduction is warp shuffles.
/// </summary>
/// <remarks>
/// The launcher's autotuner picks (rowsPerWarp, chunksInFlight, warpsPerRow) per (rows, cols) — both are [Shape]
/// parameters for that reason only: many rows per warp reuse activations and hide latency on tall matrices; few rows per
/// warp keep enough warps on the 132 SMs for short ones (an expert's 2048 rows).
/// </remarks>
public static partial class GemvKernels
{
    /// <summary>Warps per 128-thread group of <see cref="GemvRows{TWeights}"/>.</summary>
    public const int WarpsPerGroup = 4;

    [Kernel(Grid = "(rows + 4 / warpsPerRow * rowsPerWarp - 1) / (4 / warpsPerRow * rowsPerWarp)", GridY = "batch", GroupSize = "128")]
    public static void GemvRows<TWeights>(
        TWeights weight,          // [rows, cols]
        ArrayView<float> input,   // [batch, cols]
        ArrayView<float> output,  // [batch, rows]
        [Shape] int rows, // [Shape] without values: no folding, but the autotuner keys its choice on (rows, cols)
        [Shape] int cols,
        int batch,
        [Constant(1, 2, 4)] int rowsPerWarp,
        [Constant(2, 4)] int chunksInFlight,
        [Constant(1, 4)] int warpsPerRow)
        where TWeights : struct, IRowFormat<TWeights>
    {
        var warpSums = SharedMemory.Allocate<float>(WarpsPerGroup * 4); // [4 warps, 4 rows]
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        int lane = KsWarp.LaneIdx;
        int warp = thread / KsWarp.Size;
        int rowsPerGroup = WarpsPerGroup / warpsPerRow * rowsPerWarp;
        int firstRow = Grid.IdxX * rowsPerGroup + warp / warpsPerRow * rowsPerWarp;
        int slice = warp % warpsPerRow; // which interleaved share of the columns this warp takes
        Float4 partials = weight.WarpRowPartials(rows, cols, input, (long)item * cols, firstRow, rowsPerWarp, chunksInFlight,
            slice * KsWarp.Size + lane, warpsPerRow * KsWarp.Size);
        for (int j = 0; j < rowsPerWarp; j++)
        {
            float total = KsWarp.Sum(Component(partials, j));
            if (lane == 0)
                warpSums[warp * 4 + j] = total;
        }
        KsGroup.Barrier();
        if (thread < rowsPerGroup)
            StoreWarpRow(warpSums, output, (long)item * rows, Grid.IdxX * rowsPerGroup, rows, thread, rowsPerWarp, warpsPerRow);
    }

    /// <summary>Component <paramref name="j"/> (0..3) of <paramref name="v"/>; j is a constant in every variant, so this folds.</summary>
    private static float Component(Float4 v, int j) => j == 0 ? v.X : j == 1 ? v.Y : j == 2 ? v.Z : v.W;

    /// <summary>
    /// Row <paramref name="localRow"/> of the group's rows: the sum of the warp sums of the <paramref name="warpsPerRow"/>
    /// warps that shared it (warpSums[warp, j] for the row's slot j), written unless the row is past the end.
    /// </summary>
    private static void StoreWarpRow(ArrayView<float> warpSums, ArrayView<float> output, long outputStart, int groupFirstRow, int rows,
        int localRow, int rowsPerWarp, int warpsPerRow) // warpSums: [4 warps, 4 rows], shared; output: [batch, rows]
    {
        int firstWarp = localRow / rowsPerWarp * warpsPerRow;
        int slot = localRow % rowsPerWarp;
        float sum = 0f;
        for (int s = 0; s < warpsPerRow; s++)
            sum += warpSums[(firstWarp + s) * 4 + slot];
        int row = groupFirstRow + localRow;
        if (row < rows)
            output[outputStart + row] = sum;
    }
}
