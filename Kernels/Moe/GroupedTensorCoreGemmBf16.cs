using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// A prefill's routed experts as one tensor-core GEMM launch per projection: C[s, n] (fp32) = A[s, k] (bf16) ·
/// W_e[n, k]ᵀ for every slot s, where e is the slot's expert, A holds the slots' rows in slot order (expert by expert,
/// <see cref="PermuteByExpert"/>) and W the experts' stacked [E, n, k] bf16 matrices. Each group takes one item group of
/// <see cref="ExpertItemGroups"/> (up to 128 slots of one expert, itemsPerGroup = 128) × 128 columns, and runs exactly
/// the pipeline of <see cref="Linear.TensorCoreGemmKernels.TensorCoreGemmBf16"/> on that expert's rows (the same
/// k order and mma steps, so each slot's sums are the bits the per-expert GEMM gives); the launch is sized for the worst
/// case (ceil(slots / 128) + E groups) and reads the tile table on the device, so no host round trip decides the work.
/// The body repeats the dense kernel's loop on purpose: a helper holding its barriers would leave the fast CPU path (KS0009).
/// </summary>
public static partial class MoeKernels
{
    /// <summary>Slots per item group of the grouped tensor-core GEMMs: the GEMM's tile height.</summary>
    public const int TensorCoreSlotsPerGroup = TileM;

    [Kernel(Grid = "groupCount", GridY = "(n + 127) / 128", GroupSize = "256")]
    public static void GroupedTensorCoreGemmBf16(
        ArrayView<ushort> a,               // [slots, k] bf16, rows in slot order
        ArrayView<ushort> weights,         // [E, n, k] bf16, the stacked experts
        ArrayView<int> slotExperts,        // [slots] slot → expert
        ArrayView<int> groupFirstSlots,    // [G] each item group's first slot (−1: none), from ExpertItemGroups
        ArrayView<int> groupEndSlots,      // [G] one past its last slot
        ArrayView<float> c,                // [slots, n] out
        int groupCount,
        int n,
        int k)
    {
        var aTiles = SharedMemory.Allocate<ushort>(Stages * TileM * RowStride); // [3 stages, 128 (slots), 32 (k)] swizzled
        var wTiles = SharedMemory.Allocate<ushort>(Stages * TileN * RowStride); // [3 stages, 128 (n), 32 (k)] swizzled
        int first = groupFirstSlots[Grid.IdxX];
        if (first < 0)
            return; // past the last item group: the whole group leaves before any barrier
        int m = groupEndSlots[Grid.IdxX] - first;
        long expertMatrix = (long)slotExperts[first] * n * k;
        var rows = a.SubView((long)first * k, (long)m * k);         // [m, k] this group's slots
        var weight = weights.SubView(expertMatrix, (long)n * k);    // [n, k] their expert
        var output = c.SubView((long)first * n, (long)m * n);       // [m, n]
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int colStart = Grid.IdxY * TileN;
        int aRow = (warp >> 2) * 64;
        int wRow = (warp & 3) * 32;
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        bool aVectors = CanCopy16(rows, k);
        bool wVectors = CanCopy16(weight, k);
        var acc = new WarpAccumulators();

        LoadBf16Tile(rows, aTiles, 0, m, k, 0, 0, thread, aVectors);
        LoadBf16Tile(weight, wTiles, 0, n, k, colStart, 0, thread, wVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 1)
        {
            LoadBf16Tile(rows, aTiles, StageElements, m, k, 0, TileK, thread, aVectors);
            LoadBf16Tile(weight, wTiles, StageElements, n, k, colStart, TileK, thread, wVectors);
        }
        TensorCore.CopyAsyncCommit();
        int stage = 0;
        int fillStage = 2 * StageElements;
        for (int kt = 0; kt < kTiles; kt++)
        {
            TensorCore.CopyAsyncWait(1);
            Group.Barrier(); // stage kt landed for everyone; every warp is done with stage kt - 1 = fillStage
            if (kt + 2 < kTiles)
            {
                LoadBf16Tile(rows, aTiles, fillStage, m, k, 0, (kt + 2) * TileK, thread, aVectors);
                LoadBf16Tile(weight, wTiles, fillStage, n, k, colStart, (kt + 2) * TileK, thread, wVectors);
            }
            TensorCore.CopyAsyncCommit();
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 1, aLane1, wLane1, acc));
            stage = NextStage(stage);
            fillStage = NextStage(fillStage);
        }
        Store(output, acc, m, n, aRow, colStart + wRow, lane);
    }
}
