using ILGPU;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;
using Wide = KernelSharp.Kernels.Linear.TensorCoreGemmWideTiles;

namespace KernelSharp.Kernels.Linear;

public static partial class TensorCoreGemmKernels
{
    /// <summary>
    /// C = A · (W_fp8 · scale)ᵀ with the warps of <see cref="TensorCoreGemmWideBf16"/> on a 128×128 group tile (4 warps
    /// of 64×64, three stages, 48 KB): W is e4m3 [n, k] with scaleInv [ceil(n/128), ceil(k/128)] as in
    /// <see cref="TensorCoreGemmFp8"/>, whose scheme this keeps: a W tile (128 rows from a multiple of 128, 32 k inside
    /// one 128 block) has one scale; each thread loads two 16-byte fp8 runs of stage kt + 2 into registers before
    /// stage kt is multiplied, and converts them to scaled bf16 into shared memory after.
    /// A library kernel, measured against cuBLAS by tools/gpu/KernelBench; the runtime launches
    /// <see cref="TensorCoreGemmFp8"/> (Kernels/README.md).
    /// </summary>
    [Kernel(Grid = "(m + 127) / 128", GridY = "(n + 127) / 128", GroupSize = "128")]
    public static void TensorCoreGemmWideFp8(
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
        const int threads = 128;
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int aRow = (warp >> 1) * Wide.WarpRows; // the warp's 64 rows of the A tile
        int wRow = (warp & 1) * Wide.WarpRows;  // the warp's 64 rows of the W tile (columns of C)
        int rowStart = Grid.IdxX * TileM;
        int colStart = Grid.IdxY * TileN;
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        int scaleCols = (k + ScaleBlock - 1) / ScaleBlock;
        long scaleRow = (long)Grid.IdxY * scaleCols; // TileN == ScaleBlock: the group's W rows share one scale row
        bool aVectors = CanCopy16(a, k);       // rows on 16-byte boundaries: cp.async / 16-byte loads, else element loads
        bool wVectors = CanCopy16(weight, k);
        bool pairs = Wide.CanStorePairs(c, n); // 8-byte stores of C
        var acc = new WideWarpAccumulators();

        // Prologue: A stages 0 and 1 in flight (one commit group each), W stages 0 and 1 converted in place. A thread
        // handles W runs `thread` (rows 0-63) and `thread + 128` (rows 64-127) of the 256 runs of 16 bytes in a stage.
        Wide.LoadBf16Tile(a, aTiles, 0, m, TileM, k, rowStart, 0, thread, threads, aVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 1)
            Wide.LoadBf16Tile(a, aTiles, StageElements, m, TileM, k, rowStart, TileK, thread, threads, aVectors);
        TensorCore.CopyAsyncCommit();
        for (int s = 0; s < 2; s++)
        {
            if (s < kTiles)
            {
                float scale = scaleInv[scaleRow + s * TileK / ScaleBlock];
                StoreFp8RunAsBf16(wTiles, s * StageElements, LoadFp8Run(weight, n, k, colStart, s * TileK, thread, wVectors), scale, thread);
                StoreFp8RunAsBf16(wTiles, s * StageElements, LoadFp8Run(weight, n, k, colStart, s * TileK, thread + threads, wVectors), scale, thread + threads);
            }
        }
        int stage = 0;
        int fillStage = 2 * StageElements;
        for (int kt = 0; kt < kTiles; kt++)
        {
            TensorCore.CopyAsyncWait(1);
            Group.Barrier(); // stage kt complete (cp.async and the W stores); stage kt - 1 = fillStage free
            int fillK = (kt + 2) * TileK;
            bool fills = fillK < k;
            var fillLow = new Words4();  // W run `thread` of stage kt + 2 (rows 0-63)
            var fillHigh = new Words4(); // W run `thread + 128` (rows 64-127)
            if (fills)
            {
                Wide.LoadBf16Tile(a, aTiles, fillStage, m, TileM, k, rowStart, fillK, thread, threads, aVectors);
                fillLow = LoadFp8Run(weight, n, k, colStart, fillK, thread, wVectors);
                fillHigh = LoadFp8Run(weight, n, k, colStart, fillK, thread + threads, wVectors);
            }
            TensorCore.CopyAsyncCommit();
            acc = Wide.MultiplyStep(new WideWarpStepOperands(aTiles, wTiles, stage, stage, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = Wide.MultiplyStep(new WideWarpStepOperands(aTiles, wTiles, stage, stage, aRow, wRow, 1, aLane1, wLane1, acc));
            // Read two barriers from now, when stage kt + 2 is multiplied; no warp touches fillStage before then.
            if (fills)
            {
                float scale = scaleInv[scaleRow + fillK / ScaleBlock];
                StoreFp8RunAsBf16(wTiles, fillStage, fillLow, scale, thread);
                StoreFp8RunAsBf16(wTiles, fillStage, fillHigh, scale, thread + threads);
            }
            stage = NextStage(stage);
            fillStage = NextStage(fillStage);
        }
        Wide.Store(c, acc, m, n, rowStart + aRow, colStart + wRow, lane, pairs);
    }
}
