using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Decode GEMV, warp-per-rows form: y[b, o] = Σ_i W[o, i] · x[b, i] like <see cref="GemvKernels.GemvBf16"/> /
/// <see cref="GemvKernels.GemvFp8"/>, but the 4 warps of a 128-thread group own sets of <c>rowsPerWarp</c> consecutive
/// output rows, each set walked by <c>warpsPerRow</c> warps (1: every warp its own rows; 4: the whole group splits the
/// columns of one set, for short matrices where one warp per row leaves SMs idle) in 16-byte chunks. Why: one group per row spends a group-wide reduction (barriers) per row and keeps
/// one 16-byte weight load in flight per thread, which leaves the expert shapes (2048×7168, ~11 µs) and the fp8 rows
/// short of the memory ceiling. Here each lane has <c>rowsPerWarp · chunksInFlight</c> independent 16-byte weight
/// loads in flight per step, reads each activation chunk once for all its rows, and the reduction is warp shuffles.
/// </summary>
/// <remarks>
/// The launcher's autotuner picks (rowsPerWarp, chunksInFlight, warpsPerRow) per (rows, cols) — both are [Shape] parameters for
/// that reason only: many rows per warp reuse activations and hide latency on tall matrices; few rows per warp keep
/// enough warps on the 132 SMs for short ones (an expert's 2048 rows).
/// Fast path: rows of whole 16-byte chunks on 16-byte boundaries (cols a multiple of 8 for bf16, 16 for fp8, every
/// DeepSeek shape); anything else takes a strided scalar loop with the same result.
/// </remarks>
public static partial class GemvKernels
{
    /// <summary>y = x Wᵀ with bf16 weights, <paramref name="rowsPerWarp"/> rows per warp.</summary>
    [Kernel(Grid = "(rows + 4 / warpsPerRow * rowsPerWarp - 1) / (4 / warpsPerRow * rowsPerWarp)", GridY = "batch", GroupSize = "128")]
    public static void GemvBf16Rows(
        ArrayView<ushort> weight, // [rows, cols] bf16
        ArrayView<float> input,   // [batch, cols]
        ArrayView<float> output,  // [batch, rows]
        [Shape] int rows, // [Shape] without values: no folding, but the autotuner keys its choice on (rows, cols)
        [Shape] int cols,
        int batch,
        [Constant(1, 2, 4)] int rowsPerWarp,
        [Constant(2, 4)] int chunksInFlight,
        [Constant(1, 4)] int warpsPerRow)
    {
        var warpSums = SharedMemory.Allocate<float>(GemvWarpRows.WarpsPerGroup * 4); // [4 warps, 4 rows]
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        int lane = KsWarp.LaneIdx;
        int warp = thread / KsWarp.Size;
        int rowsPerGroup = GemvWarpRows.WarpsPerGroup / warpsPerRow * rowsPerWarp;
        int firstRow = Grid.IdxX * rowsPerGroup + warp / warpsPerRow * rowsPerWarp;
        int slice = warp % warpsPerRow; // which interleaved share of the columns this warp takes
        Float4 partials = GemvWarpRows.Bf16Partials(weight, input, (long)item * cols, rows, cols, firstRow, rowsPerWarp, chunksInFlight,
            slice * KsWarp.Size + lane, warpsPerRow * KsWarp.Size);
        for (int j = 0; j < rowsPerWarp; j++)
        {
            float total = KsWarp.Sum(GemvWarpRows.Component(partials, j));
            if (lane == 0)
                warpSums[warp * 4 + j] = total;
        }
        KsGroup.Barrier();
        if (thread < rowsPerGroup)
            GemvWarpRows.StoreRow(warpSums, output, (long)item * rows, Grid.IdxX * rowsPerGroup, rows, thread, rowsPerWarp, warpsPerRow);
    }

    /// <summary>
    /// y = x Wᵀ with fp8 e4m3 weights and 128×128 block scales, <paramref name="rowsPerWarp"/> rows per warp: four
    /// e4m3 values decoded per 32-bit word (<see cref="Fp8E4M3.ToFloat4IgnoringNaN"/>), the block scale applied once
    /// per 16-byte chunk (128 is a multiple of 16, so a chunk never straddles a block), NaN codes tracked per row.
    /// </summary>
    [Kernel(Grid = "(rows + 4 / warpsPerRow * rowsPerWarp - 1) / (4 / warpsPerRow * rowsPerWarp)", GridY = "batch", GroupSize = "128")]
    public static void GemvFp8Rows(
        ArrayView<byte> weight,    // [rows, cols] e4m3
        ArrayView<float> scaleInv, // [ceil(rows/128), ceil(cols/128)]
        ArrayView<float> input,    // [batch, cols]
        ArrayView<float> output,   // [batch, rows]
        [Shape] int rows, // [Shape] without values: no folding, but the autotuner keys its choice on (rows, cols)
        [Shape] int cols,
        int batch,
        [Constant(1, 2, 4)] int rowsPerWarp,
        [Constant(2, 4)] int chunksInFlight,
        [Constant(1, 4)] int warpsPerRow)
    {
        var warpSums = SharedMemory.Allocate<float>(GemvWarpRows.WarpsPerGroup * 4); // [4 warps, 4 rows]
        int item = Grid.IdxY;
        int thread = Group.IdxX;
        int lane = KsWarp.LaneIdx;
        int warp = thread / KsWarp.Size;
        int rowsPerGroup = GemvWarpRows.WarpsPerGroup / warpsPerRow * rowsPerWarp;
        int firstRow = Grid.IdxX * rowsPerGroup + warp / warpsPerRow * rowsPerWarp;
        int slice = warp % warpsPerRow;
        Float4 partials = GemvWarpRows.Fp8Partials(weight, scaleInv, input, (long)item * cols, rows, cols, firstRow, rowsPerWarp, chunksInFlight,
            slice * KsWarp.Size + lane, warpsPerRow * KsWarp.Size);
        for (int j = 0; j < rowsPerWarp; j++)
        {
            float total = KsWarp.Sum(GemvWarpRows.Component(partials, j));
            if (lane == 0)
                warpSums[warp * 4 + j] = total;
        }
        KsGroup.Barrier();
        if (thread < rowsPerGroup)
            GemvWarpRows.StoreRow(warpSums, output, (long)item * rows, Grid.IdxX * rowsPerGroup, rows, thread, rowsPerWarp, warpsPerRow);
    }
}
