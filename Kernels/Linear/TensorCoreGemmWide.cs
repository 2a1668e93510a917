using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;
using Wide = KernelSharp.Kernels.Linear.TensorCoreGemmWideTiles;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Prefill GEMM on tensor cores: C[m, n] (fp32) = A[m, k] (bf16, row-major: tokens × in) · W[n, k]ᵀ (the checkpoint's
/// [out, in] layout), W in bf16 or e4m3 with 128×128 block scales (<see cref="ITensorCoreRows{TSelf}"/>), in warps of
/// 64×64 (<see cref="TensorCoreGemmWideTiles"/>) over 32-wide k stages in shared memory, A staged by cp.async.
/// </summary>
/// <remarks>
/// <para><b>Tiles.</b> <paramref name="tileN"/> picks the group tile and <paramref name="stages"/> the pipeline depth (the
/// autotuner times every pair): 128 → 128×128, 4 warps, two or three groups per SM, so one group's barrier wait is
/// covered by another's mma; 256 → 128×256, 8 warps, one group per SM by registers, a quarter less L2 traffic per flop,
/// which leaves the latency of the copies to the pipeline's depth. A stage is 128 + tileN rows of 64 bytes: three stages
/// of 128×128 or two of 128×256 fill CUDA's 48 KB of static shared memory; deeper ones (64, 72 or 96 KB) run on dynamic
/// shared memory (<c>LargeSharedMemory</c>; a GPU that allows less skips them). The grid is m-tile first: the groups
/// resident at once share a few W column blocks and sweep A through L2.</para>
/// <para><b>The weight's format.</b> Each W stage is fetched before the multiply of the current stage and landed after
/// it (<see cref="ITensorCoreRows{TSelf}.FetchTileStage"/>, <see cref="ITensorCoreRows{TSelf}.LandTileStage"/>): bf16
/// goes to shared memory by cp.async as stored and lands with A (nothing to do after the multiply); e4m3 is loaded into
/// registers, and after the multiply scaled by its block, rounded to bf16 and stored, so the conversion overlaps the
/// loads in flight. A stage is landed only after the barrier at which every warp finished reading it, and read two or
/// more barriers later.</para>
/// <para>Edges (m, n, k not multiples of the tile) load as zeros; k not a multiple of 8 (16 for fp8), or a view not
/// starting on 16 bytes, falls back to element loads. Measured against cuBLAS by tools/gpu/KernelBench; the runtime's
/// tensor-core prefill (the default on CUDA) launches it for every Linear.</para>
/// </remarks>
public static partial class TensorCoreGemmKernels
{
    [Kernel(Grid = "(m + 127) / 128", GridY = "(n + tileN - 1) / tileN", GroupSize = "tileN", LargeSharedMemory = true)]
    public static void TensorCoreGemmWide<TWeights>(
        ArrayView<ushort> a, // [m, k] bf16
        TWeights weight,     // [n, k]
        ArrayView<float> c,  // [m, n]
        int m,
        int n,
        int k,
        [Constant(128, 256)] int tileN,
        [Constant(3, 2, 4)] int stages)
        where TWeights : struct, ITensorCoreRows<TWeights>
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
        bool aVectors = CanCopy16(a, k);              // rows on 16-byte boundaries: cp.async, else element loads
        bool wVectors = weight.TileRowsAligned16(k);
        bool pairs = Wide.CanStorePairs(c, n);        // 8-byte stores of C
        var acc = new WideWarpAccumulators();

        // Prologue: stages 0 .. stages - 2 in flight, one commit group each (empty when k is shorter).
        for (int s = 0; s < stages - 1; s++)
        {
            if (s < kTiles)
            {
                Wide.LoadBf16Tile(a, tiles, s * aStageElements, m, TileM, k, rowStart, s * TileK, thread, threads, aVectors);
                int wStage = wRegion + s * wStageElements;
                var fetched = weight.FetchTileStage(tiles, wStage, n, tileN, k, colStart, s * TileK, thread, threads, wVectors);
                weight.LandTileStage(tiles, wStage, fetched, n, tileN, k, colStart, s * TileK, thread, threads);
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
            int wFill = wRegion + fillStage * wStageElements;
            var fetched = new Words8();
            if (fillK < k)
            {
                Wide.LoadBf16Tile(a, tiles, fillStage * aStageElements, m, TileM, k, rowStart, fillK, thread, threads, aVectors);
                fetched = weight.FetchTileStage(tiles, wFill, n, tileN, k, colStart, fillK, thread, threads, wVectors);
            }
            TensorCore.CopyAsyncCommit(); // possibly empty: keeps the wait count meaning "through stage kt + 1"
            acc = Wide.MultiplyStep(new WideWarpStepOperands(tiles, tiles, stage * aStageElements, wRegion + stage * wStageElements, aRow, wRow, 0, aLane0, wLane0, acc));
            acc = Wide.MultiplyStep(new WideWarpStepOperands(tiles, tiles, stage * aStageElements, wRegion + stage * wStageElements, aRow, wRow, 1, aLane1, wLane1, acc));
            if (fillK < k)
                weight.LandTileStage(tiles, wFill, fetched, n, tileN, k, colStart, fillK, thread, threads);
            stage = stage + 1 == stages ? 0 : stage + 1;
            fillStage = fillStage + 1 == stages ? 0 : fillStage + 1;
        }
        Wide.Store(c, acc, m, n, rowStart + aRow, colStart + wRow, lane, pairs);
    }
}
