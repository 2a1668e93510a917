using ILGPU;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Linear;

public static partial class TensorCoreGemmKernels
{
    /// <summary>
    /// C = A · (W_fp8 · scale)ᵀ: W is e4m3 [n, k] with scaleInv [ceil(n/128), ceil(k/128)] (DeepSeek's
    /// <c>weight_scale_inv</c>, the factor that multiplies the stored value). A W tile (128 rows from a multiple of
    /// 128, 32 k inside one 128 block) has one scale, applied while converting to bf16 for the tensor cores. The fp8
    /// bytes of stage kt + 2 are loaded into registers before stage kt is multiplied, and converted after.
    /// </summary>
    [Kernel(Grid = "(m + 127) / 128", GridY = "(n + 127) / 128", GroupSize = "256")]
    public static void TensorCoreGemmFp8(
        ArrayView<ushort> a,        // [m, k] bf16
        ArrayView<byte> weight,     // [n, k] e4m3
        ArrayView<float> scaleInv,  // [ceil(n/128), ceil(k/128)]
        ArrayView<float> c,         // [m, n]
        int m,
        int n,
        int k)
    {
        var aTiles = SharedMemory.Allocate<ushort>(Stages * TileM * RowStride); // [3 stages, 128 (m), 32 (k)] swizzled
        var wTiles = SharedMemory.Allocate<ushort>(Stages * TileN * RowStride); // [3 stages, 128 (n), 32 (k)] swizzled, scaled bf16
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int rowStart = Grid.IdxX * TileM;
        int colStart = Grid.IdxY * TileN;
        int aRow = (warp >> 2) * 64;
        int wRow = (warp & 3) * 32;
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        int scaleCols = (k + ScaleBlock - 1) / ScaleBlock;
        long scaleRow = (long)Grid.IdxY * scaleCols; // TileN == ScaleBlock: the group's W rows share one scale row
        bool aVectors = CanCopy16(a, k);      // rows on 16-byte boundaries: cp.async / 16-byte loads, else element loads
        bool wVectors = CanCopy16(weight, k);
        var acc = new WarpAccumulators();

        LoadBf16Tile(a, aTiles, 0, m, k, rowStart, 0, thread, aVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 1)
            LoadBf16Tile(a, aTiles, StageElements, m, k, rowStart, TileK, thread, aVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 0)
            StoreFp8RunAsBf16(wTiles, 0, LoadFp8Run(weight, n, k, colStart, 0, thread, wVectors), scaleInv[scaleRow], thread);
        if (kTiles > 1)
            StoreFp8RunAsBf16(wTiles, StageElements, LoadFp8Run(weight, n, k, colStart, TileK, thread, wVectors), scaleInv[scaleRow + TileK / ScaleBlock], thread);
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
                LoadBf16Tile(a, aTiles, fillStage, m, k, rowStart, fillK, thread, aVectors);
                fillRun = LoadFp8Run(weight, n, k, colStart, fillK, thread, wVectors);
            }
            TensorCore.CopyAsyncCommit();
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 1, aLane1, wLane1, acc));
            // Read two barriers from now, when stage kt + 2 is multiplied; no warp touches fillStage before then.
            if (fills)
                StoreFp8RunAsBf16(wTiles, fillStage, fillRun, scaleInv[scaleRow + fillK / ScaleBlock], thread);
            stage = NextStage(stage);
            fillStage = NextStage(fillStage);
        }
        Store(c, acc, m, n, rowStart + aRow, colStart + wRow, lane);
    }
}
