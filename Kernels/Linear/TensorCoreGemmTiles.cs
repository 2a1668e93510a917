using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Building blocks of the tensor-core GEMM (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>, whose
/// warps are in <see cref="TensorCoreGemmWideTiles"/>): the stage layout, the per-chunk loader (cp.async for whole 16-byte
/// chunks, zero-filling plain loads at the edges), fp8 → bf16 with the block scale, the ldmatrix lane offsets and one
/// m16n8 tile's CPU path and store. A stage holds rows × 32 k of bf16 (64 bytes a row, four 16-byte chunks) with the
/// chunks of each row XOR-swizzled (<see cref="Swizzled"/>), so the 8 rows one ldmatrix reads hit 8 different bank
/// groups without padding. Everything a warp keeps in registers is written out field by field (ILGPU 1.5.3 does not
/// unroll loops, and a register array indexed at run time would go to local memory). Helpers are marked for inlining so
/// the accumulators never cross a call.
/// </summary>
public static class TensorCoreGemmTiles
{
    /// <summary>Rows of A (tokens) per group tile.</summary>
    public const int TileM = 128;

    /// <summary>k per stage: two m16n8k16 steps.</summary>
    public const int TileK = 32;

    /// <summary>Shared row stride in bf16 (no padding: the swizzle avoids bank conflicts).</summary>
    public const int RowStride = TileK;

    /// <summary>
    /// Element offset inside a stage of (row, first k of 16-byte chunk <paramref name="chunk"/> = 0..3): chunk c of row
    /// r is stored at chunk <c>c ^ ((r / 2) % 4)</c>. Two rows share a 128-byte line, so rows r..r+7 of one chunk land
    /// in 8 distinct 16-byte bank groups. Adding a multiple of 8 rows keeps the swizzle, so offsets of row blocks add.
    /// </summary>
    public static int Swizzled(int row, int chunk) => row * RowStride + ((chunk ^ ((row >> 1) & 3)) << 3);

    /// <summary>Width of the fp8 scale blocks of DeepSeek checkpoints (scale_inv is [ceil(n/128), ceil(k/128)]).</summary>
    public const int ScaleBlock = 128;

    /// <summary>
    /// Whether every row of a [rows, k] matrix in <paramref name="view"/> starts on a 16-byte boundary, so its 16-byte
    /// chunks can be copied whole: the view starts aligned (a sub-view may not) and a row is a multiple of 16 bytes.
    /// </summary>
    public static bool CanCopy16<T>(ArrayView<T> view, int k) where T : unmanaged
        => (k * Interop.SizeOf<T>()) % 16 == 0 && view.Length > 0 && KsVector.IsAligned16(view, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void LoadBf16Chunk(
        ArrayView<ushort> source, ArrayView<ushort> tile, int stageBase, int rows, int k, int rowStart, int k0, int chunk, bool vectorized)
    {
        int row = chunk >> 2;          // 4 chunks of 8 bf16 per 32-wide row
        int column = (chunk & 3) * 8;
        int globalRow = rowStart + row;
        int globalK = k0 + column;
        int target = stageBase + Swizzled(row, chunk & 3);
        long origin = (long)globalRow * k + globalK;
        if (vectorized && globalRow < rows && globalK + 8 <= k)
        {
            TensorCore.CopyAsync16(tile, target, source, origin);
            return;
        }
        for (int e = 0; e < 8; e++)
            tile[target + e] = globalRow < rows && globalK + e < k ? source[origin + e] : (ushort)0;
    }

    /// <summary>
    /// This thread's 16 fp8 weights of a W tile: row <c>thread / 2</c>, k <c>k0 + 16·(thread % 2)</c> .. +15, packed
    /// four to a word (zeros outside the matrix). One 16-byte load when <paramref name="vectorized"/>
    /// (<see cref="CanCopy16"/>) and the run is inside.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Words4 LoadFp8Run(ArrayView<byte> weight, int n, int k, int colStart, int k0, int thread, bool vectorized) // weight [n, k] e4m3
    {
        int globalRow = colStart + (thread >> 1);
        int globalK = k0 + (thread & 1) * 16;
        long origin = (long)globalRow * k + globalK;
        if (vectorized && globalRow < n && globalK + 16 <= k)
            return weight.SubView(origin, 16).AsAligned(16).Cast<Words4>()[0];
        return new Words4(
            PackFp8(weight, globalRow < n, origin, k - globalK, 0),
            PackFp8(weight, globalRow < n, origin, k - globalK, 4),
            PackFp8(weight, globalRow < n, origin, k - globalK, 8),
            PackFp8(weight, globalRow < n, origin, k - globalK, 12));
    }

    /// <summary>Four bytes from <c>origin + first</c> as a little-endian word; bytes at or past <paramref name="available"/> read as 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PackFp8(ArrayView<byte> weight, bool rowInside, long origin, int available, int first)
    {
        uint word = 0;
        for (int e = 0; e < 4; e++)
        {
            if (rowInside && first + e < available)
                word |= (uint)weight[origin + first + e] << (8 * e);
        }
        return word;
    }

    /// <summary>
    /// Converts a thread's 16 fp8 weights (from <see cref="LoadFp8Run"/>) times the tile's block scale to bf16 and
    /// stores them into their (swizzled) chunks of the shared W stage, as two 16-byte stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFp8RunAsBf16(ArrayView<ushort> tile, int stageBase, Words4 run, float scale, int thread) // tile [3 × 128 × 32] bf16, shared, swizzled
    {
        int row = thread >> 1;
        int chunk = (thread & 1) * 2;
        tile.SubView(stageBase + Swizzled(row, chunk), 8).AsAligned(16).Cast<Words4>()[0] =
            new Words4(ScaledPair(run.X, 0, scale), ScaledPair(run.X, 16, scale), ScaledPair(run.Y, 0, scale), ScaledPair(run.Y, 16, scale));
        tile.SubView(stageBase + Swizzled(row, chunk + 1), 8).AsAligned(16).Cast<Words4>()[0] =
            new Words4(ScaledPair(run.Z, 0, scale), ScaledPair(run.Z, 16, scale), ScaledPair(run.W, 0, scale), ScaledPair(run.W, 16, scale));
    }

    /// <summary>Bytes <c>shift/8</c> and <c>shift/8 + 1</c> of <paramref name="word"/> as two scaled bf16 in one word (first in
    /// the low half). Each byte is shifted to the top of a word (no mask needed: <see cref="ScaledTopByte"/> ignores the rest).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint ScaledPair(uint word, int shift, float scale)
        => Bf16.RoundPair(ScaledTopByte(word << (24 - shift), scale), ScaledTopByte(word << (16 - shift), scale));

    /// <summary>
    /// e4m3 byte × scale, rounded to bf16 (nearest, ties to even): <see cref="ScaledTopByte"/> then <see cref="RoundToBf16"/>.
    /// The NaN code 0x7F would read as 480: checkpoints hold no NaN weights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ScaledBf16(uint fp8, float scale) => RoundToBf16(ScaledTopByte(fp8 << 24, scale));

    /// <summary>
    /// The e4m3 byte in bits 24..31 of <paramref name="top"/> (lower bits ignored) times <paramref name="scale"/>, as a
    /// float. An arithmetic shift by 4 keeps the sign at bit 31 and puts the 7 magnitude bits at a float's exponent and
    /// mantissa positions (bits 20..26), where they read as 2^(e−127)·(1 + m/8), or 2^−126·m/8 for e = 0; the mask drops
    /// the sign's copies and the other bytes; times 2^120 that is exactly the e4m3 value, subnormals included, with no
    /// branch (the same decode as <c>Fp8E4M3.ToFloat4</c>). Three integer operations instead of six: by count, the
    /// conversion's integer work per k-step rivals the tensor-core time of the fp8 GEMM, so it is worth trimming; the two
    /// multiplies run on the FP32 pipe, which the GEMM leaves idle. Results are bit-identical to the earlier form.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaledTopByte(uint top, float scale)
    {
        const float TwoPow120 = 1.329228e36f; // 2^120, exact in float
        return Interop.IntAsFloat((uint)((int)top >> 4) & 0x87F0_0000u) * TwoPow120 * scale;
    }

    /// <summary>Float → bf16 bits, round to nearest even (NaN not special-cased: inputs here are finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint RoundToBf16(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    }

    /// <summary>
    /// Element offset, inside a stage, of the row this lane hands to ldmatrix.x4 for A (rows m, columns k) at k16 step
    /// <paramref name="kStep"/> (0 or 1): lanes 0-7 rows 0-7 / k 0-7, lanes 8-15 rows 8-15 / k 0-7, lanes 16-23 rows
    /// 0-7 / k 8-15, lanes 24-31 rows 8-15 / k 8-15, which yields the A0..A3 registers of an m16n8k16 fragment in order.
    /// </summary>
    public static int ALaneOffset(int lane, int kStep) => Swizzled((lane & 7) + 8 * ((lane >> 3) & 1), 2 * kStep + (lane >> 4));

    /// <summary>
    /// The same for W (rows n, columns k): matrices n 0-7/k 0-7, n 0-7/k 8-15, n 8-15/k 0-7, n 8-15/k 8-15, i.e. the
    /// B0, B1 words of two neighbouring n8 tiles.
    /// </summary>
    public static int BLaneOffset(int lane, int kStep) => Swizzled((lane & 7) + 8 * (lane >> 4), 2 * kStep + ((lane >> 3) & 1));

    /// <summary>The lane's four outputs of m16n8 tile (mi, nj) over 16 k: rows 16mi + lane/4 (+8), columns 8nj + 2·(lane%4) (+1).</summary>
    internal static MmaAccumulator LaneTile(MmaAccumulator c, TileReader a, TileReader w, int aOrigin, int wOrigin, int mi, int nj, int lane)
    {
        int row = aOrigin + 16 * mi + (lane >> 2);
        int col = wOrigin + 8 * nj + 2 * (lane & 3);
        return new MmaAccumulator(
            c.C0 + Dot16(a, row, w, col),
            c.C1 + Dot16(a, row, w, col + 1),
            c.C2 + Dot16(a, row + 8, w, col),
            c.C3 + Dot16(a, row + 8, w, col + 1));
    }

    private static float Dot16(TileReader a, int aRow, TileReader w, int wRow)
    {
        float sum = 0f;
        for (int kk = 0; kk < 16; kk++)
            sum += a.At(aRow, kk) * w.At(wRow, kk);
        return sum;
    }

    /// <summary>Host view of one stage of a swizzled shared tile, by (row relative to the warp's block, k within the k16 step).</summary>
    internal readonly ref struct TileReader(Span<ushort> tile, int stageBase, int firstRow, int kStep)
    {
        private readonly Span<ushort> tile = tile;

        public float At(int row, int kk)
        {
            int k = 16 * kStep + kk;
            return Bf16.ToFloat(tile[stageBase + Swizzled(firstRow + row, k >> 3) + (k & 7)]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static MmaAccumulator Mma(MmaAccumulator c, MatrixFragmentX4 a, uint b0, uint b1)
        => TensorCore.MmaBf16(new MmaBf16Fragments(c, a.R0, a.R1, a.R2, a.R3, b0, b1));

    /// <summary>One lane's share of a 16×8 tile: (row, col), (row, col+1), (row+8, col), (row+8, col+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreFragment(ArrayView<float> c, MmaAccumulator value, int m, int n, int row, int col)
    {
        if (col < n)
        {
            if (row < m)
                c[(long)row * n + col] = value.C0;
            if (row + 8 < m)
                c[(long)(row + 8) * n + col] = value.C2;
        }
        if (col + 1 < n)
        {
            if (row < m)
                c[(long)row * n + col + 1] = value.C1;
            if (row + 8 < m)
                c[(long)(row + 8) * n + col + 1] = value.C3;
        }
    }
}

/// <summary>16 bytes moved as one access: 16 fp8 weights, or 8 bf16 (first element in the low bits of X).</summary>
public readonly struct Words4
{
    public readonly uint X;
    public readonly uint Y;
    public readonly uint Z;
    public readonly uint W;

    public Words4(uint x, uint y, uint z, uint w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }
}
