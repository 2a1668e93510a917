using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Linear.TensorCoreGemmTiles;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// The warps of <see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>: 64×64 blocks of C over swizzled
/// stages (<see cref="TensorCoreGemmTiles"/>), in two group tiles chosen by the kernel's <c>tileN</c>: 128×128 with 4
/// warps, or 128×256 with 8 warps, each with two to four stages. Per k16 step a warp issues 8 ldmatrix.x4 for 32 mma
/// (an earlier 64×32 warp issued 6 for 16, and read as many shared-memory bytes, ldmatrix: 512 B each, 4 clocks at 128
/// B/clock, as its tensor cores could consume; this reads a third less per mma). The 128×256 tile also moves a quarter
/// fewer bytes from L2 per flop (85 instead of 64 flop per byte). The 128 accumulators per lane stay in registers
/// (field by field: ILGPU does not unroll).
/// </summary>
public static class TensorCoreGemmWideTiles
{
    /// <summary>Rows of a warp's block of C along m, and along n: 64 each.</summary>
    public const int WarpRows = 64;

    /// <summary>Threads of a group for a group tile of 128 × <paramref name="tileN"/>: one warp per 64×64 block.</summary>
    public static int Threads(int tileN) => 2 * tileN / WarpRows * 32;

    /// <summary>
    /// Stages rows [rowStart, rowStart + tileRows) × k [k0, k0 + 32) of a row-major [rows, k] bf16 matrix into one
    /// stage of a shared tile ([tileRows × 32], swizzled) with <paramref name="threads"/> threads: thread t moves chunk
    /// t % 4 of rows t / 4 + (threads / 4)·j, j &lt; 4·tileRows / threads (2 or 4). The chunks share a swizzle (32 or 64 rows
    /// keep it), so in the common case (whole tile inside, rows on 16 bytes) the offsets are one base plus constant
    /// steps and the cp.async need no checks (<see cref="CopyWholeTile"/>); else each chunk goes through
    /// <see cref="TensorCoreGemmTiles.LoadBf16Chunk"/> (cp.async or zero-filled element loads).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadBf16Tile(
        ArrayView<ushort> source, // [rows, k] bf16
        ArrayView<ushort> tile,   // shared, swizzled: [tileRows × 32] bf16 from stageBase
        int stageBase, int rows, int tileRows, int k, int rowStart, int k0, int thread, int threads, bool vectorized)
    {
        int chunks = 4 * tileRows / threads; // per thread: 2 or 4 (a constant once inlined)
        if (vectorized && rowStart + tileRows <= rows && k0 + TileK <= k)
        {
            CopyWholeTile(source, tile, stageBase, k, rowStart, k0, thread, threads / 4, chunks);
            return;
        }
        LoadBf16Chunk(source, tile, stageBase, rows, k, rowStart, k0, thread, vectorized);
        LoadBf16Chunk(source, tile, stageBase, rows, k, rowStart, k0, thread + threads, vectorized);
        if (chunks == 4)
        {
            LoadBf16Chunk(source, tile, stageBase, rows, k, rowStart, k0, thread + 2 * threads, vectorized);
            LoadBf16Chunk(source, tile, stageBase, rows, k, rowStart, k0, thread + 3 * threads, vectorized);
        }
    }

    /// <summary>
    /// The loader's common case: the whole tile lies inside the matrix and rows start on 16 bytes, so the thread's
    /// <paramref name="chunks"/> chunks (rows t / 4 + rowStep·j, chunk t % 4) go out as cp.async with no checks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyWholeTile(
        ArrayView<ushort> source, // [rows, k] bf16
        ArrayView<ushort> tile,   // shared, swizzled: [tileRows × 32] bf16 from stageBase
        int stageBase, int k, int rowStart, int k0, int thread, int rowStep, int chunks)
    {
        int target = stageBase + Swizzled(thread >> 2, thread & 3);
        long origin = (long)(rowStart + (thread >> 2)) * k + k0 + (thread & 3) * 8;
        long step = (long)rowStep * k;
        TensorCore.CopyAsync16(tile, target, source, origin);
        TensorCore.CopyAsync16(tile, target + rowStep * RowStride, source, origin + step);
        if (chunks == 4)
        {
            TensorCore.CopyAsync16(tile, target + 2 * rowStep * RowStride, source, origin + 2 * step);
            TensorCore.CopyAsync16(tile, target + 3 * rowStep * RowStride, source, origin + 3 * step);
        }
    }

    /// <summary>
    /// One k16 step of a warp's 64×64 block: 4 ldmatrix.x4 for W (eight n8 tiles, loaded first and kept), then per
    /// m16 tile one ldmatrix.x4 for A and 8 mma, so only one A fragment is live besides the accumulators. A warp
    /// collective (all 32 lanes call it together); the generated CPU path computes it with
    /// <see cref="MultiplyStepCombine"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(MultiplyStepCombine), UniformResult = false)]
    public static WideWarpAccumulators MultiplyStep(WideWarpStepOperands operands)
    {
        var acc = operands.Acc;
        var aTile = operands.ATile;
        var wTile = operands.WTile;
        int aBase = operands.AOffset;
        int wBase = operands.WOffset;
        // Row blocks of 16 keep the swizzle (Swizzled), so the m16 / n16 sub-tiles are plain offsets from the lane's row.
        var w01 = TensorCore.LdMatrixX4(wTile, wBase);
        var w23 = TensorCore.LdMatrixX4(wTile, wBase + 16 * RowStride);
        var w45 = TensorCore.LdMatrixX4(wTile, wBase + 32 * RowStride);
        var w67 = TensorCore.LdMatrixX4(wTile, wBase + 48 * RowStride);
        var a0 = TensorCore.LdMatrixX4(aTile, aBase);
        acc.C00 = Mma(acc.C00, a0, w01.R0, w01.R1);
        acc.C01 = Mma(acc.C01, a0, w01.R2, w01.R3);
        acc.C02 = Mma(acc.C02, a0, w23.R0, w23.R1);
        acc.C03 = Mma(acc.C03, a0, w23.R2, w23.R3);
        acc.C04 = Mma(acc.C04, a0, w45.R0, w45.R1);
        acc.C05 = Mma(acc.C05, a0, w45.R2, w45.R3);
        acc.C06 = Mma(acc.C06, a0, w67.R0, w67.R1);
        acc.C07 = Mma(acc.C07, a0, w67.R2, w67.R3);
        var a1 = TensorCore.LdMatrixX4(aTile, aBase + 16 * RowStride);
        acc.C10 = Mma(acc.C10, a1, w01.R0, w01.R1);
        acc.C11 = Mma(acc.C11, a1, w01.R2, w01.R3);
        acc.C12 = Mma(acc.C12, a1, w23.R0, w23.R1);
        acc.C13 = Mma(acc.C13, a1, w23.R2, w23.R3);
        acc.C14 = Mma(acc.C14, a1, w45.R0, w45.R1);
        acc.C15 = Mma(acc.C15, a1, w45.R2, w45.R3);
        acc.C16 = Mma(acc.C16, a1, w67.R0, w67.R1);
        acc.C17 = Mma(acc.C17, a1, w67.R2, w67.R3);
        var a2 = TensorCore.LdMatrixX4(aTile, aBase + 32 * RowStride);
        acc.C20 = Mma(acc.C20, a2, w01.R0, w01.R1);
        acc.C21 = Mma(acc.C21, a2, w01.R2, w01.R3);
        acc.C22 = Mma(acc.C22, a2, w23.R0, w23.R1);
        acc.C23 = Mma(acc.C23, a2, w23.R2, w23.R3);
        acc.C24 = Mma(acc.C24, a2, w45.R0, w45.R1);
        acc.C25 = Mma(acc.C25, a2, w45.R2, w45.R3);
        acc.C26 = Mma(acc.C26, a2, w67.R0, w67.R1);
        acc.C27 = Mma(acc.C27, a2, w67.R2, w67.R3);
        var a3 = TensorCore.LdMatrixX4(aTile, aBase + 48 * RowStride);
        acc.C30 = Mma(acc.C30, a3, w01.R0, w01.R1);
        acc.C31 = Mma(acc.C31, a3, w01.R2, w01.R3);
        acc.C32 = Mma(acc.C32, a3, w23.R0, w23.R1);
        acc.C33 = Mma(acc.C33, a3, w23.R2, w23.R3);
        acc.C34 = Mma(acc.C34, a3, w45.R0, w45.R1);
        acc.C35 = Mma(acc.C35, a3, w45.R2, w45.R3);
        acc.C36 = Mma(acc.C36, a3, w67.R0, w67.R1);
        acc.C37 = Mma(acc.C37, a3, w67.R2, w67.R3);
        return acc;
    }

    /// <summary>
    /// CPU path of <see cref="MultiplyStep"/>: lane <paramref name="lane"/>'s accumulators plus its share of the
    /// warp's 64×64×16 product, read from the shared tiles in fp32 through the logical position (stage, warp rows, k step).
    /// </summary>
    public static WideWarpAccumulators MultiplyStepCombine(ReadOnlySpan<WideWarpStepOperands> perLane, int lane)
    {
        var own = perLane[lane];
        var a = new TileReader(HostSpan.Of(own.ATile, 0, (int)own.ATile.Length), own.AStageBase, own.ARow, own.KStep);
        var w = new TileReader(HostSpan.Of(own.WTile, 0, (int)own.WTile.Length), own.WStageBase, own.WRow, own.KStep);
        var acc = own.Acc;
        acc.C00 = LaneTile(acc.C00, a, w, 0, 0, 0, 0, lane);
        acc.C01 = LaneTile(acc.C01, a, w, 0, 0, 0, 1, lane);
        acc.C02 = LaneTile(acc.C02, a, w, 0, 0, 0, 2, lane);
        acc.C03 = LaneTile(acc.C03, a, w, 0, 0, 0, 3, lane);
        acc.C04 = LaneTile(acc.C04, a, w, 0, 0, 0, 4, lane);
        acc.C05 = LaneTile(acc.C05, a, w, 0, 0, 0, 5, lane);
        acc.C06 = LaneTile(acc.C06, a, w, 0, 0, 0, 6, lane);
        acc.C07 = LaneTile(acc.C07, a, w, 0, 0, 0, 7, lane);
        acc.C10 = LaneTile(acc.C10, a, w, 0, 0, 1, 0, lane);
        acc.C11 = LaneTile(acc.C11, a, w, 0, 0, 1, 1, lane);
        acc.C12 = LaneTile(acc.C12, a, w, 0, 0, 1, 2, lane);
        acc.C13 = LaneTile(acc.C13, a, w, 0, 0, 1, 3, lane);
        acc.C14 = LaneTile(acc.C14, a, w, 0, 0, 1, 4, lane);
        acc.C15 = LaneTile(acc.C15, a, w, 0, 0, 1, 5, lane);
        acc.C16 = LaneTile(acc.C16, a, w, 0, 0, 1, 6, lane);
        acc.C17 = LaneTile(acc.C17, a, w, 0, 0, 1, 7, lane);
        acc.C20 = LaneTile(acc.C20, a, w, 0, 0, 2, 0, lane);
        acc.C21 = LaneTile(acc.C21, a, w, 0, 0, 2, 1, lane);
        acc.C22 = LaneTile(acc.C22, a, w, 0, 0, 2, 2, lane);
        acc.C23 = LaneTile(acc.C23, a, w, 0, 0, 2, 3, lane);
        acc.C24 = LaneTile(acc.C24, a, w, 0, 0, 2, 4, lane);
        acc.C25 = LaneTile(acc.C25, a, w, 0, 0, 2, 5, lane);
        acc.C26 = LaneTile(acc.C26, a, w, 0, 0, 2, 6, lane);
        acc.C27 = LaneTile(acc.C27, a, w, 0, 0, 2, 7, lane);
        acc.C30 = LaneTile(acc.C30, a, w, 0, 0, 3, 0, lane);
        acc.C31 = LaneTile(acc.C31, a, w, 0, 0, 3, 1, lane);
        acc.C32 = LaneTile(acc.C32, a, w, 0, 0, 3, 2, lane);
        acc.C33 = LaneTile(acc.C33, a, w, 0, 0, 3, 3, lane);
        acc.C34 = LaneTile(acc.C34, a, w, 0, 0, 3, 4, lane);
        acc.C35 = LaneTile(acc.C35, a, w, 0, 0, 3, 5, lane);
        acc.C36 = LaneTile(acc.C36, a, w, 0, 0, 3, 6, lane);
        acc.C37 = LaneTile(acc.C37, a, w, 0, 0, 3, 7, lane);
        return acc;
    }

    /// <summary>
    /// Whether the epilogue may write C two floats at a time (8-byte stores): n even, so every lane's column pair
    /// (even column) starts on 8 bytes given a view that starts on 16.
    /// </summary>
    public static bool CanStorePairs(ArrayView<float> c, int n) => (n & 1) == 0 && KsVector.IsAligned16(c, 0);

    /// <summary>Writes the warp's 64×64 block of C from (<paramref name="row"/>, <paramref name="col"/>), skipping what lies outside [m, n].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ArrayView<float> c, WideWarpAccumulators acc, int m, int n, int row, int col, int lane, bool pairs) // c [m, n]
    {
        row += lane >> 2;
        col += 2 * (lane & 3);
        StoreFragmentPair(c, acc.C00, m, n, row, col, pairs);
        StoreFragmentPair(c, acc.C01, m, n, row, col + 8, pairs);
        StoreFragmentPair(c, acc.C02, m, n, row, col + 16, pairs);
        StoreFragmentPair(c, acc.C03, m, n, row, col + 24, pairs);
        StoreFragmentPair(c, acc.C04, m, n, row, col + 32, pairs);
        StoreFragmentPair(c, acc.C05, m, n, row, col + 40, pairs);
        StoreFragmentPair(c, acc.C06, m, n, row, col + 48, pairs);
        StoreFragmentPair(c, acc.C07, m, n, row, col + 56, pairs);
        StoreFragmentPair(c, acc.C10, m, n, row + 16, col, pairs);
        StoreFragmentPair(c, acc.C11, m, n, row + 16, col + 8, pairs);
        StoreFragmentPair(c, acc.C12, m, n, row + 16, col + 16, pairs);
        StoreFragmentPair(c, acc.C13, m, n, row + 16, col + 24, pairs);
        StoreFragmentPair(c, acc.C14, m, n, row + 16, col + 32, pairs);
        StoreFragmentPair(c, acc.C15, m, n, row + 16, col + 40, pairs);
        StoreFragmentPair(c, acc.C16, m, n, row + 16, col + 48, pairs);
        StoreFragmentPair(c, acc.C17, m, n, row + 16, col + 56, pairs);
        StoreFragmentPair(c, acc.C20, m, n, row + 32, col, pairs);
        StoreFragmentPair(c, acc.C21, m, n, row + 32, col + 8, pairs);
        StoreFragmentPair(c, acc.C22, m, n, row + 32, col + 16, pairs);
        StoreFragmentPair(c, acc.C23, m, n, row + 32, col + 24, pairs);
        StoreFragmentPair(c, acc.C24, m, n, row + 32, col + 32, pairs);
        StoreFragmentPair(c, acc.C25, m, n, row + 32, col + 40, pairs);
        StoreFragmentPair(c, acc.C26, m, n, row + 32, col + 48, pairs);
        StoreFragmentPair(c, acc.C27, m, n, row + 32, col + 56, pairs);
        StoreFragmentPair(c, acc.C30, m, n, row + 48, col, pairs);
        StoreFragmentPair(c, acc.C31, m, n, row + 48, col + 8, pairs);
        StoreFragmentPair(c, acc.C32, m, n, row + 48, col + 16, pairs);
        StoreFragmentPair(c, acc.C33, m, n, row + 48, col + 24, pairs);
        StoreFragmentPair(c, acc.C34, m, n, row + 48, col + 32, pairs);
        StoreFragmentPair(c, acc.C35, m, n, row + 48, col + 40, pairs);
        StoreFragmentPair(c, acc.C36, m, n, row + 48, col + 48, pairs);
        StoreFragmentPair(c, acc.C37, m, n, row + 48, col + 56, pairs);
    }

    /// <summary>One lane's share of a 16×8 tile: (row, col..col+1) and (row+8, col..col+1), as 8-byte stores when
    /// <paramref name="pairs"/> (<see cref="CanStorePairs"/>) and the pair is inside, else element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFragmentPair(ArrayView<float> c, MmaAccumulator value, int m, int n, int row, int col, bool pairs)
    {
        if (!pairs || col + 1 >= n)
        {
            StoreFragment(c, value, m, n, row, col);
            return;
        }
        if (row < m)
            c.SubView((long)row * n + col, 2).AsAligned(8).Cast<FloatPair>()[0] = new FloatPair(value.C0, value.C1);
        if (row + 8 < m)
            c.SubView((long)(row + 8) * n + col, 2).AsAligned(8).Cast<FloatPair>()[0] = new FloatPair(value.C2, value.C3);
    }
}

/// <summary>One lane's operands of <see cref="TensorCoreGemmWideTiles.MultiplyStep"/> (one argument, as collectives take).</summary>
public struct WideWarpStepOperands
{
    public ArrayView<ushort> ATile; // shared, swizzled: [stages × 128 × 32] bf16 from AStageBase of stage 0
    public ArrayView<ushort> WTile; // shared, swizzled: [stages × tileN × 32] bf16 from WStageBase of stage 0 (may be ATile)
    public int AStageBase;          // first element of the stage in ATile
    public int WStageBase;          // first element of the stage in WTile
    public int ARow;                // the warp's first A row in the tile (0 or 64)
    public int WRow;                // the warp's first W row in the tile (a multiple of 64)
    public int KStep;               // k16 step within the stage (0 or 1)
    public int AOffset;             // this lane's ldmatrix offset for A: AStageBase + ARow·32 + ALaneOffset(lane, KStep)
    public int WOffset;             // the same for W
    public WideWarpAccumulators Acc;

    public WideWarpStepOperands(
        ArrayView<ushort> aTile, ArrayView<ushort> wTile, int aStageBase, int wStageBase, int aRow, int wRow, int kStep,
        int aLaneOffset, int wLaneOffset, WideWarpAccumulators acc)
    {
        ATile = aTile;
        WTile = wTile;
        AStageBase = aStageBase;
        WStageBase = wStageBase;
        ARow = aRow;
        WRow = wRow;
        KStep = kStep;
        AOffset = aStageBase + aRow * RowStride + aLaneOffset;
        WOffset = wStageBase + wRow * RowStride + wLaneOffset;
        Acc = acc;
    }
}

/// <summary>A warp's 64×64 block of C as 4×8 m16n8 accumulator tiles (C<i>ij</i>: rows 16i.., columns 8j..).</summary>
public struct WideWarpAccumulators
{
    public MmaAccumulator C00, C01, C02, C03, C04, C05, C06, C07;
    public MmaAccumulator C10, C11, C12, C13, C14, C15, C16, C17;
    public MmaAccumulator C20, C21, C22, C23, C24, C25, C26, C27;
    public MmaAccumulator C30, C31, C32, C33, C34, C35, C36, C37;
}

/// <summary>Two floats written as one 8-byte access (the lower column in X).</summary>
public readonly struct FloatPair
{
    public readonly float X;
    public readonly float Y;

    public FloatPair(float x, float y)
    {
        X = x;
        Y = y;
    }
}
