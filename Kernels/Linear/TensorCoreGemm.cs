using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;
using Wide = KernelSharp.Kernels.Linear.TensorCoreGemmWideTiles;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Prompt GEMM on tensor cores: C[i, n] (fp32) = A[i, k] (bf16) · W[n, k]ᵀ (the checkpoint's [out, in] layout) for the
/// rows i of every launch group, W in bf16 or e4m3 with 128×128 block scales (<see cref="ITensorCoreRows{TSelf}"/>).
/// The rows come from <typeparamref name="TItems"/> (<see cref="IItemGroups{TSelf}"/>): a prompt's tokens in groups of
/// 128 (<see cref="BatchItems"/>, one matrix), or routed-expert slots, each group up to 128 slots of one expert times that
/// expert's matrix of a stack (<see cref="ExpertSlotItems"/> over <see cref="Moe.MoeKernels.ExpertItemGroups"/>; also a
/// prompt's attention heads as "experts"): every Linear, routed expert and kv_b projection of a prompt is this one kernel.
/// </summary>
/// <remarks>
/// <para><b>Tiles.</b> A group multiplies up to 128 rows by <paramref name="tileN"/> columns in warps of 64×64
/// (<see cref="TensorCoreGemmWideTiles"/>) over 32-wide k stages in shared memory, A staged by cp.async.
/// <paramref name="tileN"/> picks the group tile and <paramref name="stages"/> the pipeline depth (the autotuner times
/// every pair): 128 → 4 warps, two or three groups per SM, so one group's barrier wait is covered by another's mma; 256 →
/// 8 warps, one group per SM by registers, a quarter less L2 traffic per flop, which leaves the latency of the copies to
/// the pipeline's depth. A stage is 128 + tileN rows of 64 bytes: three stages of 128×128 or two of 128×256 fill CUDA's
/// 48 KB of static shared memory; deeper ones (64, 72 or 96 KB) run on dynamic shared memory (<c>LargeSharedMemory</c>;
/// a GPU that allows less skips them). The grid is row-group first: the groups resident at once share a few W column
/// blocks and sweep A through L2.</para>
/// <para><b>The weight's format.</b> Each W stage is fetched before the multiply of the current stage and landed after
/// it (<see cref="ITensorCoreRows{TSelf}.FetchTileStage"/>, <see cref="ITensorCoreRows{TSelf}.LandTileStage"/>): bf16
/// goes to shared memory by cp.async as stored and lands with A (nothing to do after the multiply); e4m3 is loaded into
/// registers, and after the multiply scaled by its block, rounded to bf16 and stored, so the conversion overlaps the
/// loads in flight. A stage is landed only after the barrier at which every warp finished reading it, and read two or
/// more barriers later.</para>
/// <para>A row's sums depend only on its own row and its matrix (fixed k order and mma steps), not on its group or the
/// other rows. Edges (rows, n, k not multiples of the tile) load as zeros; k not a multiple of 8 (16 for fp8), or a view
/// not starting on 16 bytes, falls back to element loads. A group's rows must follow each other in
/// <paramref name="a"/> (<see cref="BatchItems"/>, <see cref="ExpertSlotItems.OwnRows"/>: no token rows). Measured
/// against cuBLAS by tools/gpu/KernelBench.</para>
/// </remarks>
public static partial class TensorCoreGemmKernels
{
    /// <summary>Rows (tokens, slots) per launch group: the height of a group tile.</summary>
    public const int GroupRows = TileM;

    [Kernel(Grid = "groups", GridY = "(n + tileN - 1) / tileN", GroupSize = "tileN", LargeSharedMemory = true)]
    public static void TensorCoreGemm<TWeights, TItems>(
        ArrayView<ushort> a, // [items, k] bf16
        TWeights weights,    // [matrices, n, k]
        TItems items,        // which rows each group multiplies, by which matrix (GroupRows at most)
        ArrayView<float> c,  // [items, n]
        int groups,
        [Shape] int n, // [Shape] without values: no folding, but the autotuner keys its choice on (n, k): a prompt's
        [Shape] int k, // Linear shapes and the experts' each get the tile and depth measured on them
        [Constant(128, 256)] int tileN,
        [Constant(3, 2, 4)] int stages)
        where TWeights : struct, ITensorCoreRows<TWeights>
        where TItems : struct, IItemGroups<TItems>
    {
        // One allocation for both operands: [stages × 128 (A rows) + stages × tileN (W rows: n), 32 (k)] bf16,
        // swizzled; A's stages first.
        var tiles = SharedMemory.Allocate<ushort>(stages * (TileM + tileN) * RowStride);
        var range = items.Range(Grid.IdxX, GroupRows);
        if (range.First < 0)
            return; // a group past the last expert's slots (the grid is sized for the worst case): the whole group leaves
        int m = range.End - range.First;
        var rows = a.SubView(items.InputStart(range.First, k), (long)m * k);  // [m, k] this group's rows
        var weight = weights.Matrix(range.Matrix, n, k);                     // [n, k] their matrix
        var output = c.SubView((long)range.First * n, (long)m * n);          // [m, n]
        int threads = Wide.Threads(tileN);  // 128 or 256
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int warpsN = tileN / Wide.WarpRows;        // warps along n: 2 or 4
        int aRow = warp / warpsN * Wide.WarpRows;  // the warp's 64 rows of the A tile
        // The warp's 64 rows of the W tile (columns of C). warpsN is a power of two and warp is not negative, so a mask is
        // warp % warpsN; the signed remainder was compiled (ILGPU places it in the k loop's header) into an absolute
        // value, a reciprocal (MUFU.RCP) and a sign fix-up on every k step.
        int wRow = (warp & (warpsN - 1)) * Wide.WarpRows;
        int colStart = Grid.IdxY * tileN;
        int aStageElements = TileM * RowStride;
        int wStageElements = tileN * RowStride;
        int wRegion = stages * aStageElements; // W's first stage
        int aLane0 = ALaneOffset(lane, 0), aLane1 = ALaneOffset(lane, 1);
        int wLane0 = BLaneOffset(lane, 0), wLane1 = BLaneOffset(lane, 1);
        int kTiles = (k + TileK - 1) / TileK;
        bool aVectors = CanCopy16(rows, k);           // rows on 16-byte boundaries: cp.async, else element loads
        bool wVectors = weight.TileRowsAligned16(k);
        bool pairs = Wide.CanStorePairs(output, n);   // 8-byte stores of C
        var acc = new WideWarpAccumulators();

        // Prologue: stages 0 .. stages - 2 in flight, one commit group each (empty when k is shorter).
        for (int s = 0; s < stages - 1; s++)
        {
            if (s < kTiles)
            {
                Wide.LoadBf16Tile(rows, tiles, s * aStageElements, m, TileM, k, 0, s * TileK, thread, threads, aVectors);
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
            var fetched = new FetchedTileRuns();
            if (fillK < k)
            {
                Wide.LoadBf16Tile(rows, tiles, fillStage * aStageElements, m, TileM, k, 0, fillK, thread, threads, aVectors);
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
        Wide.Store(output, acc, m, n, aRow, colStart + wRow, lane, pairs);
    }
}
