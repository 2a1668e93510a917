using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Tile loaders and the 4×4 register block of <see cref="GemmKernels"/>. Shared tiles are stored k-major
/// ([16 (k), 64 (m or n)]) so the inner product step reads 4 consecutive m (or n) values per k.
/// Thread t of 256 owns C rows rowStart + 4·(t / 16) + i and columns colStart + 4·(t % 16) + j.
/// </summary>
public static class GemmTiles
{
    public const int TileM = 64;
    public const int TileN = 64;
    public const int TileK = 16;
    public const int Threads = 256;

    /// <summary>
    /// The CPU form's tile (group size 1) computed by the host in one call, when there is one: the generated CPU path runs
    /// <see cref="GemmTilesCpu.HostTileCpu{TWeights}"/> (a register-blocked panel) and skips the kernel's row-dot loops;
    /// compiled by ILGPU (GPUs, ILGPU's CPU accelerator) this is a constant false, folded away with the branch, so the
    /// kernel's own loops are what runs and their code is unchanged.
    /// </summary>
    [Intrinsic(CpuBody = nameof(GemmTilesCpu.HostTileCpu))]
    public static bool HostTile<TWeights>(ArrayView<float> a, TWeights weight, ArrayView<float> c, int n, int k, int rowStart, int rowEnd,
        int colStart, int colEnd)
        where TWeights : struct, IRowFormat<TWeights> => false;

    /// <summary>Stages A[rowStart.., k0..] (64×16, zeros outside) into aTile; 4 elements per thread, consecutive k per row.</summary>
    public static void LoadActivations(ArrayView<float> a, ArrayView<float> aTile, int m, int k, int rowStart, int k0, int thread)
    {
        for (int e = thread; e < TileM * TileK; e += Threads)
        {
            int row = e / TileK;
            int kk = e - row * TileK;
            int globalRow = rowStart + row;
            int globalK = k0 + kk;
            aTile[kk * TileM + row] = globalRow < m && globalK < k ? a[(long)globalRow * k + globalK] : 0f;
        }
    }

    /// <summary>Stages W[colStart.., k0..] (64×16, zeros outside) into wTile, widened to fp32 (fp8: times its block scale).</summary>
    public static void LoadWeights<TWeights>(TWeights weight, ArrayView<float> wTile, int n, int k, int colStart, int k0, int thread)
        where TWeights : struct, IRowFormat<TWeights>
    {
        for (int e = thread; e < TileN * TileK; e += Threads)
        {
            int col = e / TileK;
            int kk = e - col * TileK;
            int globalCol = colStart + col;
            int globalK = k0 + kk;
            wTile[kk * TileN + col] = globalCol < n && globalK < k ? weight.Element(globalCol, k, globalK) : 0f;
        }
    }

    /// <summary>acc += A-tile rows × W-tile columns of this thread over the 16 staged k.</summary>
    public static Accumulator4x4 MultiplyTiles(ArrayView<float> aTile, ArrayView<float> wTile, Accumulator4x4 acc, int thread)
    {
        int rowBase = (thread / 16) * 4;
        int colBase = (thread % 16) * 4;
        for (int kk = 0; kk < TileK; kk++)
        {
            int aOffset = kk * TileM + rowBase;
            int wOffset = kk * TileN + colBase;
            acc = acc.Add(
                aTile[aOffset], aTile[aOffset + 1], aTile[aOffset + 2], aTile[aOffset + 3],
                wTile[wOffset], wTile[wOffset + 1], wTile[wOffset + 2], wTile[wOffset + 3]);
        }
        return acc;
    }

    public static void Store(ArrayView<float> c, Accumulator4x4 acc, int m, int n, int rowStart, int colStart, int thread)
    {
        int row = rowStart + (thread / 16) * 4;
        int col = colStart + (thread % 16) * 4;
        StoreRow(c, m, n, row, col, acc.C00, acc.C01, acc.C02, acc.C03);
        StoreRow(c, m, n, row + 1, col, acc.C10, acc.C11, acc.C12, acc.C13);
        StoreRow(c, m, n, row + 2, col, acc.C20, acc.C21, acc.C22, acc.C23);
        StoreRow(c, m, n, row + 3, col, acc.C30, acc.C31, acc.C32, acc.C33);
    }

    private static void StoreRow(ArrayView<float> c, int m, int n, int row, int col, float v0, float v1, float v2, float v3)
    {
        if (row >= m)
            return;
        long start = (long)row * n + col;
        if (col < n)
            c[start] = v0;
        if (col + 1 < n)
            c[start + 1] = v1;
        if (col + 2 < n)
            c[start + 2] = v2;
        if (col + 3 < n)
            c[start + 3] = v3;
    }
}

/// <summary>A 4×4 block of fp32 accumulators kept in registers (written out: ILGPU 1.5.3 does not unroll loops).</summary>
public struct Accumulator4x4
{
    public float C00, C01, C02, C03;
    public float C10, C11, C12, C13;
    public float C20, C21, C22, C23;
    public float C30, C31, C32, C33;

    /// <summary>The outer product a ⊗ w added to the block.</summary>
    public readonly Accumulator4x4 Add(float a0, float a1, float a2, float a3, float w0, float w1, float w2, float w3)
    {
        var r = this;
        r.C00 += a0 * w0; r.C01 += a0 * w1; r.C02 += a0 * w2; r.C03 += a0 * w3;
        r.C10 += a1 * w0; r.C11 += a1 * w1; r.C12 += a1 * w2; r.C13 += a1 * w3;
        r.C20 += a2 * w0; r.C21 += a2 * w1; r.C22 += a2 * w2; r.C23 += a2 * w3;
        r.C30 += a3 * w0; r.C31 += a3 * w1; r.C32 += a3 * w2; r.C33 += a3 * w3;
        return r;
    }
}
