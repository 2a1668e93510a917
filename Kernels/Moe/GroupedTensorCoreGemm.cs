using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// A prefill's routed experts as one tensor-core GEMM launch per projection: C[s, n] (fp32) = A[s, k] (bf16) ·
/// W_e[n, k]ᵀ for every slot s, where e is the slot's expert, A holds the slots' rows in slot order (expert by expert,
/// <see cref="PermuteByExpert"/>) and W the experts' stacked [E, n, k] matrices in bf16 or e4m3 with 128×128 block
/// scales (<see cref="ITensorCoreRows{TSelf}"/>). Each group takes one item group of <see cref="ExpertItemGroups"/> (up
/// to 128 slots of one expert, itemsPerGroup = 128) × 128 columns; the launch is sized for the worst case
/// (ceil(slots / 128) + E groups) and reads the tile table on the device, so no host round trip decides the work.
/// </summary>
/// <remarks>
/// 8 warps of 64×32 (<see cref="TensorCoreGemmTiles"/>) over three 32-wide k stages: A by cp.async, W fetched
/// before the multiply and landed after it as in <see cref="TensorCoreGemmKernels.TensorCoreGemmWide{TWeights}"/>.
/// A slot's sums depend only on its own row and its expert's matrix (fixed k order and mma steps), not on which other
/// slots share its group. The body holds the loop itself rather than a helper: a helper holding its barriers would
/// leave the fast CPU path (KS0009).
/// </remarks>
public static partial class MoeKernels
{
    /// <summary>Slots per item group of the grouped tensor-core GEMMs: the GEMM's tile height.</summary>
    public const int TensorCoreSlotsPerGroup = TileM;

    [Kernel(Grid = "groupCount", GridY = "(n + 127) / 128", GroupSize = "256")]
    public static void GroupedTensorCoreGemm<TWeights>(
        ArrayView<ushort> a,               // [slots, k] bf16, rows in slot order
        TWeights weights,                  // [E, n, k] the stacked experts
        ArrayView<int> slotExperts,        // [slots] slot → expert
        ArrayView<int> groupFirstSlots,    // [G] each item group's first slot (−1: none), from ExpertItemGroups
        ArrayView<int> groupEndSlots,      // [G] one past its last slot
        ArrayView<float> c,                // [slots, n] out
        int groupCount,
        int n,
        int k)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        var aTiles = SharedMemory.Allocate<ushort>(Stages * TileM * RowStride); // [3 stages, 128 (slots), 32 (k)] swizzled
        var wTiles = SharedMemory.Allocate<ushort>(Stages * TileN * RowStride); // [3 stages, 128 (n), 32 (k)] swizzled bf16
        int first = groupFirstSlots[Grid.IdxX];
        if (first < 0)
            return; // past the last item group: the whole group leaves before any barrier
        int m = groupEndSlots[Grid.IdxX] - first;
        var rows = a.SubView((long)first * k, (long)m * k);                // [m, k] this group's slots
        var weight = weights.Matrix(slotExperts[first], n, k);             // [n, k] their expert
        var output = c.SubView((long)first * n, (long)m * n);              // [m, n]
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
        bool wVectors = weight.TileRowsAligned16(k);
        var acc = new WarpAccumulators();

        // Prologue: stages 0 and 1 in flight, one commit group each (empty when k has a single stage).
        for (int s = 0; s < Stages - 1; s++)
        {
            if (s < kTiles)
            {
                LoadBf16Tile(rows, aTiles, s * StageElements, m, k, 0, s * TileK, thread, aVectors);
                var fetched = weight.FetchTileStage(wTiles, s * StageElements, n, TileN, k, colStart, s * TileK, thread, Threads, wVectors);
                weight.LandTileStage(wTiles, s * StageElements, fetched, n, TileN, k, colStart, s * TileK, thread, Threads);
            }
            TensorCore.CopyAsyncCommit();
        }
        int stage = 0;
        int fillStage = 2 * StageElements;
        for (int kt = 0; kt < kTiles; kt++)
        {
            TensorCore.CopyAsyncWait(1);
            Group.Barrier(); // stage kt complete for everyone (cp.async and landed W); every warp is done with fillStage
            int fillK = (kt + 2) * TileK;
            var fetched = new Words8();
            if (fillK < k)
            {
                LoadBf16Tile(rows, aTiles, fillStage, m, k, 0, fillK, thread, aVectors);
                fetched = weight.FetchTileStage(wTiles, fillStage, n, TileN, k, colStart, fillK, thread, Threads, wVectors);
            }
            TensorCore.CopyAsyncCommit();
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 1, aLane1, wLane1, acc));
            if (fillK < k)
                weight.LandTileStage(wTiles, fillStage, fetched, n, TileN, k, colStart, fillK, thread, Threads);
            stage = NextStage(stage);
            fillStage = NextStage(fillStage);
        }
        Store(output, acc, m, n, aRow, colStart + wRow, lane);
    }
}
