using ILGPU;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;
using Wide = KernelSharp.Kernels.Linear.TensorCoreGemmWideTiles;

namespace KernelSharp.Kernels.Linear;

public static partial class TensorCoreGemmKernels
{
    /// <summary>
    /// C = A · Wᵀ with bf16 weights, warps of 64×64 (see <see cref="TensorCoreGemmWideTiles"/>), 32-wide k stages of
    /// cp.async copies. <paramref name="tileN"/> picks the group tile and <paramref name="stages"/> the pipeline depth
    /// (the autotuner times every pair): 128 → 128×128, 4 warps, two or three groups per SM, so one group's barrier
    /// wait is covered by another's mma; 256 → 128×256, 8 warps, one group per SM by registers, a quarter less L2
    /// traffic per flop, which leaves the latency of the copies to the pipeline's depth. A stage is 128 + tileN rows of
    /// 64 bytes: three stages of 128×128 or two of 128×256 fill CUDA's 48 KB of static shared memory; deeper ones
    /// (64, 72 or 96 KB) run on dynamic shared memory (<c>LargeSharedMemory</c>; a GPU that allows less skips them).
    /// The grid is m-tile first, as in <see cref="TensorCoreGemmBf16"/>: the groups resident at once share a few W
    /// column blocks and sweep A through L2.
    /// Measured against cuBLAS by tools/gpu/KernelBench (faster than TensorCoreGemmBf16 at 4096 rows); the runtime's
    /// tensor-core prefill (the default on CUDA) launches it for every Linear (Kernels/README.md).
    /// </summary>
    [Kernel(Grid = "(m + 127) / 128", GridY = "(n + tileN - 1) / tileN", GroupSize = "tileN", LargeSharedMemory = true)]
    public static void TensorCoreGemmWideBf16(
        ArrayView<ushort> a,      // [m, k] bf16
        ArrayView<ushort> weight, // [n, k] bf16
        ArrayView<float> c,       // [m, n]
        int m,
        int n,
        int k,
        [Constant(128, 256)] int tileN,
        [Constant(3, 2, 4)] int stages)
    {
        // One allocation for both operands: [stages × 128 (A rows: m) + stages × tileN (W rows: n), 32 (k)] bf16,
        // swizzled; A's stages first.
        var tiles = SharedMemory.Allocate<ushort>(stages * (TileM + tileN) * RowStride);
        int threads = Wide.Threads(tileN);  // 128 or 256
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int warpsN = tileN / Wide.WarpRows;        // warps along n: 2 or 4
        int aRow = warp / warpsN * Wide.WarpRows;  // the warp's 64 rows of the A tile
        int wRow = warp % warpsN * Wide.WarpRows;  // the warp's 64 rows of the W tile (columns of C)
        int rowStart = Grid.IdxX * TileM;
        int colStart = Grid.IdxY * tileN;
        int aStageElements = TileM * RowStride;
        int wStageElements = tileN * RowStride;
        int wRegion = stages * aStageElements; // W's first stage
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        bool aVectors = CanCopy16(a, k);       // rows on 16-byte boundaries: cp.async, else element loads
        bool wVectors = CanCopy16(weight, k);
        bool pairs = Wide.CanStorePairs(c, n); // 8-byte stores of C
        var acc = new WideWarpAccumulators();

        // Prologue: stages 0 .. stages - 2 in flight, one commit group each (empty when k is shorter).
        Wide.LoadBf16Tile(a, tiles, 0, m, TileM, k, rowStart, 0, thread, threads, aVectors);
        Wide.LoadBf16Tile(weight, tiles, wRegion, n, tileN, k, colStart, 0, thread, threads, wVectors);
        TensorCore.CopyAsyncCommit();
        for (int s = 1; s < stages - 1; s++)
        {
            if (s < kTiles)
            {
                Wide.LoadBf16Tile(a, tiles, s * aStageElements, m, TileM, k, rowStart, s * TileK, thread, threads, aVectors);
                Wide.LoadBf16Tile(weight, tiles, wRegion + s * wStageElements, n, tileN, k, colStart, s * TileK, thread, threads, wVectors);
            }
            TensorCore.CopyAsyncCommit();
        }
        int stage = 0;               // multiplied in this iteration
        int fillStage = stages - 1;  // filled in this iteration: the one iteration kt - 1 multiplied
        for (int kt = 0; kt < kTiles; kt++)
        {
            // Every group but the stages - 2 newest done: stage kt has landed (this thread's part) ...
            TensorCore.CopyAsyncWait(stages - 2);
            Group.Barrier(); // ... everyone's part; and every warp is done with stage kt - 1 = fillStage
            int fillK = (kt + stages - 1) * TileK;
            if (fillK < k)
            {
                Wide.LoadBf16Tile(a, tiles, fillStage * aStageElements, m, TileM, k, rowStart, fillK, thread, threads, aVectors);
                Wide.LoadBf16Tile(weight, tiles, wRegion + fillStage * wStageElements, n, tileN, k, colStart, fillK, thread, threads, wVectors);
            }
            TensorCore.CopyAsyncCommit(); // possibly empty: keeps the wait count meaning "through stage kt + 1"
            acc = Wide.MultiplyStep(new WideWarpStepOperands(tiles, tiles, stage * aStageElements, wRegion + stage * wStageElements, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = Wide.MultiplyStep(new WideWarpStepOperands(tiles, tiles, stage * aStageElements, wRegion + stage * wStageElements, aRow, wRow, 1, aLane1, wLane1, acc));
            stage = stage + 1 == stages ? 0 : stage + 1;
            fillStage = fillStage + 1 == stages ? 0 : fillStage + 1;
        }
        Wide.Store(c, acc, m, n, rowStart + aRow, colStart + wRow, lane, pairs);
    }
}
