using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// <see cref="GroupedTensorCoreGemmBf16"/> for experts stored as e4m3 with 128×128 block scales ([E, n, k] codes,
/// [E, ceil(n/128), ceil(k/128)] scales): the pipeline of <see cref="Linear.TensorCoreGemmKernels.TensorCoreGemmFp8"/>
/// (W loaded into registers, scaled to bf16 with its block's scale, stored to shared memory; A through cp.async) on each
/// item group's expert. A separate kernel from the bf16 one for the reason the dense pair is: cp.async cannot convert.
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "groupCount", GridY = "(n + 127) / 128", GroupSize = "256")]
    public static void GroupedTensorCoreGemmFp8(
        ArrayView<ushort> a,               // [slots, k] bf16, rows in slot order
        ArrayView<byte> weights,           // [E, n, k] e4m3, the stacked experts
        ArrayView<float> scaleInv,         // [E, ceil(n/128), ceil(k/128)]
        ArrayView<int> slotExperts,        // [slots] slot → expert
        ArrayView<int> groupFirstSlots,    // [G] each item group's first slot (−1: none), from ExpertItemGroups
        ArrayView<int> groupEndSlots,      // [G] one past its last slot
        ArrayView<float> c,                // [slots, n] out
        int groupCount,
        int n,
        int k)
    {
        var aTiles = SharedMemory.Allocate<ushort>(Stages * TileM * RowStride); // [3 stages, 128 (slots), 32 (k)] swizzled
        var wTiles = SharedMemory.Allocate<ushort>(Stages * TileN * RowStride); // [3 stages, 128 (n), 32 (k)] swizzled, scaled bf16
        int first = groupFirstSlots[Grid.IdxX];
        if (first < 0)
            return; // past the last item group: the whole group leaves before any barrier
        int m = groupEndSlots[Grid.IdxX] - first;
        int expert = slotExperts[first];
        int scaleCols = (k + ScaleBlock - 1) / ScaleBlock;
        long expertScales = (long)((n + ScaleBlock - 1) / ScaleBlock) * scaleCols;
        var rows = a.SubView((long)first * k, (long)m * k);                    // [m, k] this group's slots
        var weight = weights.SubView((long)expert * n * k, (long)n * k);       // [n, k] their expert
        var scales = scaleInv.SubView(expert * expertScales, expertScales);    // its scale grid
        var output = c.SubView((long)first * n, (long)m * n);                  // [m, n]
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int colStart = Grid.IdxY * TileN;
        int aRow = (warp >> 2) * 64;
        int wRow = (warp & 3) * 32;
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        long scaleRow = (long)Grid.IdxY * scaleCols; // TileN == ScaleBlock: the group's W rows share one scale row
        bool aVectors = CanCopy16(rows, k);
        bool wVectors = CanCopy16(weight, k);
        var acc = new WarpAccumulators();

        LoadBf16Tile(rows, aTiles, 0, m, k, 0, 0, thread, aVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 1)
            LoadBf16Tile(rows, aTiles, StageElements, m, k, 0, TileK, thread, aVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 0)
            StoreFp8RunAsBf16(wTiles, 0, LoadFp8Run(weight, n, k, colStart, 0, thread, wVectors), scales[scaleRow], thread);
        if (kTiles > 1)
            StoreFp8RunAsBf16(wTiles, StageElements, LoadFp8Run(weight, n, k, colStart, TileK, thread, wVectors), scales[scaleRow + TileK / ScaleBlock], thread);
        int stage = 0;
        int fillStage = 2 * StageElements;
        for (int kt = 0; kt < kTiles; kt++)
        {
            TensorCore.CopyAsyncWait(1);
            Group.Barrier(); // stage kt complete (cp.async and the W stores); stage kt - 1 = fillStage free
            int fillK = (kt + 2) * TileK;
            bool fills = kt + 2 < kTiles;
            var fillRun = new Words4();
            if (fills)
            {
                LoadBf16Tile(rows, aTiles, fillStage, m, k, 0, fillK, thread, aVectors);
                fillRun = LoadFp8Run(weight, n, k, colStart, fillK, thread, wVectors);
            }
            TensorCore.CopyAsyncCommit();
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 1, aLane1, wLane1, acc));
            // Read two barriers from now, when stage kt + 2 is multiplied; no warp touches fillStage before then.
            if (fills)
                StoreFp8RunAsBf16(wTiles, fillStage, fillRun, scales[scaleRow + fillK / ScaleBlock], thread);
            stage = NextStage(stage);
            fillStage = NextStage(fillStage);
        }
        Store(output, acc, m, n, aRow, colStart + wRow, lane);
    }
}
