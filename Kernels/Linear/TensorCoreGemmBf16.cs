using ILGPU;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Prefill GEMM on tensor cores: C[m, n] (fp32) = A[m, k] (bf16, row-major: tokens × in) · W[n, k]ᵀ (the checkpoint's
/// [out, in] layout), W in bf16 or e4m3 fp8 with 128×128 block scales. A group of 256 threads (8 warps, 2 × 4) owns a
/// 128×128 tile of C, each warp a 64×32 block held as 16 m16n8 accumulators. k advances 32 at a time through three
/// shared-memory stages: while the tensor cores multiply one stage (ldmatrix.x4 + mma.sync m16n8k16), cp.async fills
/// the next two, and one barrier per stage suffices (a stage is refilled only after every warp passed the barrier
/// that follows its last use). Edges (m, n, k not multiples of the tile) are loaded as zeros, and k not a multiple of
/// 8 (16 for fp8), or a sub-view not starting on 16 bytes, falls back to element loads. Shared memory: 48 KB static (swizzled rows, no padding).
/// Groups run m-tile first (grid X = m tiles): the groups resident at once share a few W column blocks and sweep A
/// (4096 tokens × 7168 bf16 = 58 MB, about the L2), instead of each sweeping all of W (up to 264 MB) again.
/// On the ILGPU CPU accelerator the intrinsics' portable bodies run the same code (slowly: tests use small shapes).
/// The variants with 64×64 warp blocks (fewer ldmatrix per mma) are TensorCoreGemmWideBf16 and TensorCoreGemmWideFp8.
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
        var aTiles = SharedMemory.Allocate<ushort>(Stages * TileM * RowStride); // [3 stages, 128 (m), 32 (k)] swizzled
        var wTiles = SharedMemory.Allocate<ushort>(Stages * TileN * RowStride); // [3 stages, 128 (n), 32 (k)] swizzled
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int rowStart = Grid.IdxX * TileM;
        int colStart = Grid.IdxY * TileN;
        int aRow = (warp >> 2) * 64; // the warp's 64 rows of the A tile
        int wRow = (warp & 3) * 32;  // the warp's 32 rows of the W tile (columns of C)
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        bool aVectors = CanCopy16(a, k);      // rows on 16-byte boundaries: cp.async, else element loads
        bool wVectors = CanCopy16(weight, k);
        var acc = new WarpAccumulators();

        // Prologue: stages 0 and 1 in flight, one commit group each (empty when k has a single stage).
        LoadBf16Tile(a, aTiles, 0, m, k, rowStart, 0, thread, aVectors);
        LoadBf16Tile(weight, wTiles, 0, n, k, colStart, 0, thread, wVectors);
        TensorCore.CopyAsyncCommit();
        if (kTiles > 1)
        {
            LoadBf16Tile(a, aTiles, StageElements, m, k, rowStart, TileK, thread, aVectors);
            LoadBf16Tile(weight, wTiles, StageElements, n, k, colStart, TileK, thread, wVectors);
        }
        TensorCore.CopyAsyncCommit();
        int stage = 0;
        int fillStage = 2 * StageElements;
        for (int kt = 0; kt < kTiles; kt++)
        {
            TensorCore.CopyAsyncWait(1); // every group but the newest done: stage kt has landed (this thread's part)
            Group.Barrier();             // ... everyone's part; and every warp is done with stage kt - 1 = fillStage
            if (kt + 2 < kTiles)
            {
                LoadBf16Tile(a, aTiles, fillStage, m, k, rowStart, (kt + 2) * TileK, thread, aVectors);
                LoadBf16Tile(weight, wTiles, fillStage, n, k, colStart, (kt + 2) * TileK, thread, wVectors);
            }
            TensorCore.CopyAsyncCommit(); // possibly empty: keeps "all but the newest group" meaning "through stage kt + 1"
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = MultiplyStep(new WarpStepOperands(aTiles, wTiles, stage, aRow, wRow, 1, aLane1, wLane1, acc));
            stage = NextStage(stage);
            fillStage = NextStage(fillStage);
        }
        Store(c, acc, m, n, rowStart + aRow, colStart + wRow, lane);
    }
}
