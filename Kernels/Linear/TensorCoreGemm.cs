using ILGPU;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Prefill GEMM on tensor cores: C[m, n] (fp32) = A[m, k] (bf16, row-major: tokens × in) · W[n, k]ᵀ (the checkpoint's
/// [out, in] layout), W in bf16 or e4m3 fp8 with 128×128 block scales. A group of 256 threads (8 warps, 2 × 4) owns a
/// 128×128 tile of C, each warp a 64×32 block held as 16 m16n8 accumulators. k advances 32 at a time through two
/// shared-memory stages: while the tensor cores multiply one stage (ldmatrix.x4 + mma.sync m16n8k16), cp.async fills
/// the other. Edges (m, n, k not multiples of the tile) are loaded as zeros, and k not a multiple of 8 (16 for fp8)
/// falls back to element loads. Shared memory: 40 KB static.
/// Groups run m-tile first (grid X = m tiles): the groups resident at once share a few W column blocks and sweep A
/// (4096 tokens × 7168 bf16 = 58 MB, about the L2), instead of each sweeping all of W (up to 264 MB) again.
/// On the ILGPU CPU accelerator the intrinsics' portable bodies run the same code (slowly: tests use small shapes).
/// </summary>
public static partial class TensorCoreGemmKernels
{
    /// <summary>C = A · Wᵀ with bf16 weights.</summary>
    [Kernel(Grid = "(m + 127) / 128", GridY = "(n + 127) / 128", GroupSize = "256")]
    public static void TensorCoreGemmBf16(
        ArrayView<ushort> a,      // [m, k] bf16
        ArrayView<ushort> weight, // [n, k] bf16
        ArrayView<float> c,       // [m, n]
        int m,
        int n,
        int k)
    {
        var aTiles = SharedMemory.Allocate<ushort>(2 * TileM * RowStride); // [2 stages, 128 (m), 40 (k, 32 used)]
        var wTiles = SharedMemory.Allocate<ushort>(2 * TileN * RowStride); // [2 stages, 128 (n), 40 (k, 32 used)]
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int rowStart = Grid.IdxX * TileM;
        int colStart = Grid.IdxY * TileN;
        int aWarpOffset = (warp >> 2) * 64 * RowStride + ALaneOffset(lane); // warp rows 64·(warp / 4)..
        int wWarpOffset = (warp & 3) * 32 * RowStride + BLaneOffset(lane);  // warp columns 32·(warp % 4)..
        int kTiles = (k + TileK - 1) / TileK;
        var acc = new WarpAccumulators();

        LoadBf16Tile(a, aTiles, 0, m, k, rowStart, 0, thread);
        LoadBf16Tile(weight, wTiles, 0, n, k, colStart, 0, thread);
        TensorCore.CopyAsyncCommit();
        for (int kt = 0; kt < kTiles; kt++)
        {
            int stage = (kt & 1) * StageElements;
            if (kt + 1 < kTiles)
            {
                int next = StageElements - stage;
                LoadBf16Tile(a, aTiles, next, m, k, rowStart, (kt + 1) * TileK, thread);
                LoadBf16Tile(weight, wTiles, next, n, k, colStart, (kt + 1) * TileK, thread);
            }
            TensorCore.CopyAsyncCommit(); // possibly empty: keeps "all but the newest group" meaning "stage kt"
            TensorCore.CopyAsyncWait(1);
            Group.Barrier();
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage + aWarpOffset, stage + wWarpOffset, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage + aWarpOffset + 16, stage + wWarpOffset + 16, acc));
            Group.Barrier(); // every warp is done with this stage before the next trip refills it
        }
        Store(c, acc, m, n, rowStart + (warp >> 2) * 64, colStart + (warp & 3) * 32, lane);
    }

    /// <summary>
    /// C = A · (W_fp8 · scale)ᵀ: W is e4m3 [n, k] with scaleInv [ceil(n/128), ceil(k/128)] (DeepSeek's
    /// <c>weight_scale_inv</c>, the factor that multiplies the stored value). A W tile (128 rows from a multiple of
    /// 128, 32 k inside one 128 block) has one scale, applied while converting to bf16 for the tensor cores. The fp8
    /// bytes of the next tile are loaded into registers before the current tile is multiplied, and converted after.
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
        var aTiles = SharedMemory.Allocate<ushort>(2 * TileM * RowStride); // [2 stages, 128 (m), 40 (k, 32 used)]
        var wTiles = SharedMemory.Allocate<ushort>(2 * TileN * RowStride); // [2 stages, 128 (n), 40 (k, 32 used)] scaled bf16
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int rowStart = Grid.IdxX * TileM;
        int colStart = Grid.IdxY * TileN;
        int aWarpOffset = (warp >> 2) * 64 * RowStride + ALaneOffset(lane);
        int wWarpOffset = (warp & 3) * 32 * RowStride + BLaneOffset(lane);
        int kTiles = (k + TileK - 1) / TileK;
        int scaleCols = (k + ScaleBlock - 1) / ScaleBlock;
        long scaleRow = (long)Grid.IdxY * scaleCols; // TileN == ScaleBlock: the group's rows share one scale row
        var acc = new WarpAccumulators();

        LoadBf16Tile(a, aTiles, 0, m, k, rowStart, 0, thread);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 0)
            StoreFp8RunAsBf16(wTiles, 0, LoadFp8Run(weight, n, k, colStart, 0, thread), scaleInv[scaleRow], thread);
        for (int kt = 0; kt < kTiles; kt++)
        {
            int stage = (kt & 1) * StageElements;
            int next = StageElements - stage;
            int nextK = (kt + 1) * TileK;
            bool hasNext = kt + 1 < kTiles;
            var nextRun = new Words4();
            if (hasNext)
            {
                LoadBf16Tile(a, aTiles, next, m, k, rowStart, nextK, thread);
                nextRun = LoadFp8Run(weight, n, k, colStart, nextK, thread);
            }
            TensorCore.CopyAsyncCommit();
            TensorCore.CopyAsyncWait(1);
            Group.Barrier();
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage + aWarpOffset, stage + wWarpOffset, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage + aWarpOffset + 16, stage + wWarpOffset + 16, acc));
            // The other stage was last read before the previous trip's closing barrier: safe to fill now.
            if (hasNext)
                StoreFp8RunAsBf16(wTiles, next, nextRun, scaleInv[scaleRow + nextK / ScaleBlock], thread);
            Group.Barrier();
        }
        Store(c, acc, m, n, rowStart + (warp >> 2) * 64, colStart + (warp & 3) * 32, lane);
    }
}
