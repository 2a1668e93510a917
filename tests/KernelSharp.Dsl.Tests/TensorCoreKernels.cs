using ILGPU;

namespace KernelSharp.Dsl.Tests;

/// <summary>
/// Small kernels over one m16n8k16 tile, used for execution tests (ILGPU CPU accelerator, CUDA) and PTX snapshots.
/// Layouts: A [16 × 16] bf16 row-major, Bt [8 × 16] bf16 (B transposed: row n holds B[0..15][n]), C/D [16 × 8] fp32 row-major.
/// </summary>
public static class TensorCoreKernels
{
    /// <summary>One tile per warp: every lane reads its fragments straight from global memory (layout on
    /// MmaBf16Fragments); warp w uses tile w of each array.</summary>
    public static void MmaTile(
        ArrayView<ushort> a,  // [warps × 16 × 16] bf16
        ArrayView<ushort> bt, // [warps × 8 × 16] bf16
        ArrayView<float> c,   // [warps × 16 × 8]
        ArrayView<float> d)   // [warps × 16 × 8]
    {
        int warp = Group.IdxX >> 5;
        int lane = Group.IdxX & 31;
        int g = lane >> 2;
        int t = lane & 3;
        int aBase = warp * 256, bBase = warp * 128, cBase = warp * 128;
        var accumulator = new MmaAccumulator(
            c[cBase + g * 8 + 2 * t], c[cBase + g * 8 + 2 * t + 1], c[cBase + (g + 8) * 8 + 2 * t], c[cBase + (g + 8) * 8 + 2 * t + 1]);
        var fragments = new MmaBf16Fragments(
            accumulator,
            Pair(a, aBase + g * 16 + 2 * t),
            Pair(a, aBase + (g + 8) * 16 + 2 * t),
            Pair(a, aBase + g * 16 + 2 * t + 8),
            Pair(a, aBase + (g + 8) * 16 + 2 * t + 8),
            Pair(bt, bBase + g * 16 + 2 * t),
            Pair(bt, bBase + g * 16 + 2 * t + 8));
        var result = TensorCore.MmaBf16(fragments);
        d[cBase + g * 8 + 2 * t] = result.C0;
        d[cBase + g * 8 + 2 * t + 1] = result.C1;
        d[cBase + (g + 8) * 8 + 2 * t] = result.C2;
        d[cBase + (g + 8) * 8 + 2 * t + 1] = result.C3;
    }

    /// <summary>
    /// One warp: A and Bt are staged in shared memory with cp.async, fragments come from ldmatrix.x4, then one mma.
    /// ldmatrix matrix i of A covers rows 8·(i&amp;1).., k 8·(i&gt;&gt;1).., so R0..R3 are exactly A0..A3; for Bt,
    /// matrices 0/1 are k 0-7/8-15 of all 8 columns, giving B0/B1 (matrices 2/3 repeat them).
    /// </summary>
    public static void LdMatrixMmaTile(
        ArrayView<ushort> a,  // [16 × 16] bf16
        ArrayView<ushort> bt, // [8 × 16] bf16
        ArrayView<float> d)   // [16 × 8]
    {
        var sharedA = SharedMemory.Allocate<ushort>(16 * 16);  // [16 × 16]
        var sharedBt = SharedMemory.Allocate<ushort>(8 * 16);  // [8 × 16]
        int lane = Group.IdxX;
        // 16 rows × 2 halves of A = 32 copies of 16 bytes: one per lane; Bt needs 16, done by lanes 0-15.
        TensorCore.CopyAsync16(sharedA, lane * 8, a, lane * 8);
        if (lane < 16)
            TensorCore.CopyAsync16(sharedBt, lane * 8, bt, lane * 8);
        TensorCore.CopyAsyncCommit();
        TensorCore.CopyAsyncWait(0);
        Group.Barrier();

        int matrix = lane >> 3;
        int rowInMatrix = lane & 7;
        var aFragments = TensorCore.LdMatrixX4(sharedA, (rowInMatrix + 8 * (matrix & 1)) * 16 + 8 * (matrix >> 1));
        var bFragments = TensorCore.LdMatrixX4(sharedBt, rowInMatrix * 16 + 8 * (matrix & 1));
        var result = TensorCore.MmaBf16(new MmaBf16Fragments(
            default, aFragments.R0, aFragments.R1, aFragments.R2, aFragments.R3, bFragments.R0, bFragments.R1));

        int g = lane >> 2;
        int t = lane & 3;
        d[g * 8 + 2 * t] = result.C0;
        d[g * 8 + 2 * t + 1] = result.C1;
        d[(g + 8) * 8 + 2 * t] = result.C2;
        d[(g + 8) * 8 + 2 * t + 1] = result.C3;
    }

    /// <summary>
    /// Register-only mma loop: 4 independent accumulator chains per warp (enough to cover the tensor-core latency),
    /// fragments made from the lane index so nothing is loaded inside the loop. out[global thread] keeps the work alive.
    /// </summary>
    public static void MmaLoop(ArrayView<float> output, int iterations) // output [grid · group]
    {
        uint seed = (uint)Grid.GlobalIndex.X;
        uint a0 = 0x3F803F80u ^ (seed & 7u), a1 = 0x3F003F00u, a2 = 0x3E803E80u, a3 = 0x3F403F40u;
        uint b0 = 0x3C003C00u, b1 = 0x3C803C80u;
        MmaAccumulator c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < iterations; i++)
        {
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a0, a1, a2, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a1, a2, a3, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a2, a3, a0, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a3, a0, a1, a2, b1, b0));
        }
        output[Grid.GlobalIndex.X] = c0.C0 + c1.C1 + c2.C2 + c3.C3 + c0.C3 + c1.C2 + c2.C1 + c3.C0;
    }

    /// <summary>Row sums and maxima with the group collectives: one group per row.</summary>
    public static void RowSumMax(
        ArrayView<float> x,       // [rows × columns]
        ArrayView<float> sums,    // [rows]
        ArrayView<float> maxima,  // [rows]
        int columns)
    {
        int row = Grid.IdxX;
        float partialSum = 0f;
        float partialMax = float.NegativeInfinity;
        for (int column = Group.IdxX; column < columns; column += Group.DimX)
        {
            float value = x[row * columns + column];
            partialSum += value;
            partialMax = MathF.Max(partialMax, value);
        }
        float sum = KsGroup.Sum(partialSum);
        float max = KsGroup.Max(partialMax);
        if (Group.IdxX == 0)
        {
            sums[row] = sum;
            maxima[row] = max;
        }
    }

    /// <summary>One dot product per thread over rows of a matrix (a GEMV row), with KsVector's 16-byte loads.</summary>
    public static void RowDot(
        ArrayView<float> matrix,  // [rows × columns]
        ArrayView<float> vector,  // [columns]
        ArrayView<float> output,  // [rows]
        int columns)
    {
        int row = Grid.GlobalIndex.X;
        if (row < output.Length)
            output[row] = KsVector.Dot(matrix, (long)row * columns, vector, 0, columns);
    }

    private static uint Pair(ArrayView<ushort> v, int index) => KernelSharp.Dsl.MmaTile.Pack(v[index], v[index + 1]);
}
