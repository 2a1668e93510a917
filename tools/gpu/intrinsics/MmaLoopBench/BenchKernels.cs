using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Tools.MmaLoopBench;

/// <summary>The kernels the workbench compiles and runs.</summary>
public static class BenchKernels
{
    /// <summary>
    /// Register-only mma loop: 4 independent accumulator chains per warp (the tensor-core pipeline needs several
    /// mma in flight), fragments derived from the thread index so nothing is loaded in the loop, and a final store
    /// of all chains so the compiler cannot drop them. Flops per warp: iterations · 4 · 2·16·8·16.
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

    /// <summary>
    /// The same loop with 16 mma per trip (4 chains × 4 steps, written out because ILGPU 1.5.3 does not unroll):
    /// the per-trip overhead the SASS of <see cref="MmaLoop"/> shows (~30 instructions of counter, branch and moves
    /// around 4 HMMA) is spread over 4× more tensor-core work. Flops per warp: iterations · 16 · 2·16·8·16.
    /// </summary>
    public static void MmaLoop4x4(ArrayView<float> output, int iterations) // output [grid · group]
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
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a1, a0, a2, a3, b1, b0));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a2, a1, a3, a0, b0, b1));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a3, a2, a0, a1, b1, b0));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a0, a3, a1, a2, b0, b1));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a2, a0, a1, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a3, a1, a2, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a0, a2, a3, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a1, a3, a0, a2, b1, b0));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a3, a0, a2, a1, b1, b0));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a0, a1, a3, a2, b0, b1));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a1, a2, a0, a3, b1, b0));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a2, a3, a1, a0, b0, b1));
        }
        output[Grid.GlobalIndex.X] = c0.C0 + c1.C1 + c2.C2 + c3.C3 + c0.C3 + c1.C2 + c2.C1 + c3.C0;
    }

    /// <summary>
    /// 4 chains × 8 steps = 32 mma per trip: <see cref="MmaLoop4x4"/> with the body written twice, halving the loop
    /// overhead per mma again. Flops per warp: iterations · 32 · 2·16·8·16.
    /// </summary>
    public static void MmaLoop4x8(ArrayView<float> output, int iterations) // output [grid · group]
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
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a1, a0, a2, a3, b1, b0));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a2, a1, a3, a0, b0, b1));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a3, a2, a0, a1, b1, b0));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a0, a3, a1, a2, b0, b1));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a2, a0, a1, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a3, a1, a2, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a0, a2, a3, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a1, a3, a0, a2, b1, b0));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a3, a0, a2, a1, b1, b0));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a0, a1, a3, a2, b0, b1));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a1, a2, a0, a3, b1, b0));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a2, a3, a1, a0, b0, b1));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a0, a1, a2, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a1, a2, a3, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a2, a3, a0, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a3, a0, a1, a2, b1, b0));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a1, a0, a2, a3, b1, b0));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a2, a1, a3, a0, b0, b1));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a3, a2, a0, a1, b1, b0));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a0, a3, a1, a2, b0, b1));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a2, a0, a1, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a3, a1, a2, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a0, a2, a3, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a1, a3, a0, a2, b1, b0));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a3, a0, a2, a1, b1, b0));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a0, a1, a3, a2, b0, b1));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a1, a2, a0, a3, b1, b0));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a2, a3, a1, a0, b0, b1));
        }
        output[Grid.GlobalIndex.X] = c0.C0 + c1.C1 + c2.C2 + c3.C3 + c0.C3 + c1.C2 + c2.C1 + c3.C0;
    }

    /// <summary>
    /// 8 independent chains × 2 steps = 16 mma per trip: twice the chains of <see cref="MmaLoop4x4"/>, so each warp
    /// keeps more mma in flight while one waits for its accumulator. Flops per warp: iterations · 16 · 2·16·8·16.
    /// </summary>
    public static void MmaLoop8x2(ArrayView<float> output, int iterations) // output [grid · group]
    {
        uint seed = (uint)Grid.GlobalIndex.X;
        uint a0 = 0x3F803F80u ^ (seed & 7u), a1 = 0x3F003F00u, a2 = 0x3E803E80u, a3 = 0x3F403F40u;
        uint b0 = 0x3C003C00u, b1 = 0x3C803C80u;
        MmaAccumulator c0 = default, c1 = default, c2 = default, c3 = default;
        MmaAccumulator c4 = default, c5 = default, c6 = default, c7 = default;
        for (int i = 0; i < iterations; i++)
        {
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a0, a1, a2, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a1, a2, a3, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a2, a3, a0, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a3, a0, a1, a2, b1, b0));
            c4 = TensorCore.MmaBf16(new MmaBf16Fragments(c4, a1, a0, a2, a3, b1, b0));
            c5 = TensorCore.MmaBf16(new MmaBf16Fragments(c5, a2, a1, a3, a0, b0, b1));
            c6 = TensorCore.MmaBf16(new MmaBf16Fragments(c6, a3, a2, a0, a1, b1, b0));
            c7 = TensorCore.MmaBf16(new MmaBf16Fragments(c7, a0, a3, a1, a2, b0, b1));
            c0 = TensorCore.MmaBf16(new MmaBf16Fragments(c0, a2, a0, a1, a3, b0, b1));
            c1 = TensorCore.MmaBf16(new MmaBf16Fragments(c1, a3, a1, a2, a0, b1, b0));
            c2 = TensorCore.MmaBf16(new MmaBf16Fragments(c2, a0, a2, a3, a1, b0, b1));
            c3 = TensorCore.MmaBf16(new MmaBf16Fragments(c3, a1, a3, a0, a2, b1, b0));
            c4 = TensorCore.MmaBf16(new MmaBf16Fragments(c4, a3, a0, a2, a1, b1, b0));
            c5 = TensorCore.MmaBf16(new MmaBf16Fragments(c5, a0, a1, a3, a2, b0, b1));
            c6 = TensorCore.MmaBf16(new MmaBf16Fragments(c6, a1, a2, a0, a3, b1, b0));
            c7 = TensorCore.MmaBf16(new MmaBf16Fragments(c7, a2, a3, a1, a0, b0, b1));
        }
        output[Grid.GlobalIndex.X] = c0.C0 + c1.C1 + c2.C2 + c3.C3 + c4.C0 + c5.C1 + c6.C2 + c7.C3
            + c0.C3 + c1.C2 + c2.C1 + c3.C0 + c4.C3 + c5.C2 + c6.C1 + c7.C0;
    }

    /// <summary>One warp, one 16×8×16 tile: fragments from global memory (A [16×16], Bt [8×16] bf16, C/D [16×8] fp32).</summary>
    public static void SingleTile(ArrayView<ushort> a, ArrayView<ushort> bt, ArrayView<float> c, ArrayView<float> d)
    {
        int lane = Group.IdxX;
        int g = lane >> 2;
        int t = lane & 3;
        var accumulator = new MmaAccumulator(c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t], c[(g + 8) * 8 + 2 * t + 1]);
        var result = TensorCore.MmaBf16(new MmaBf16Fragments(
            accumulator,
            Pair(a, g * 16 + 2 * t), Pair(a, (g + 8) * 16 + 2 * t), Pair(a, g * 16 + 2 * t + 8), Pair(a, (g + 8) * 16 + 2 * t + 8),
            Pair(bt, g * 16 + 2 * t), Pair(bt, g * 16 + 2 * t + 8)));
        d[g * 8 + 2 * t] = result.C0;
        d[g * 8 + 2 * t + 1] = result.C1;
        d[(g + 8) * 8 + 2 * t] = result.C2;
        d[(g + 8) * 8 + 2 * t + 1] = result.C3;
    }

    /// <summary>
    /// One warp, one tile through shared memory: cp.async stages A [16×16] and Bt [8×16], ldmatrix.x4 loads the
    /// fragments (A matrices: rows 8·(i&amp;1).., k 8·(i&gt;&gt;1)..; Bt matrices 0/1: k 0-7 / 8-15), then one mma; D [16×8].
    /// </summary>
    public static void SharedTile(ArrayView<ushort> a, ArrayView<ushort> bt, ArrayView<float> d)
    {
        var sharedA = SharedMemory.Allocate<ushort>(16 * 16); // [16 × 16]
        var sharedBt = SharedMemory.Allocate<ushort>(8 * 16); // [8 × 16]
        int lane = Group.IdxX;
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

    /// <summary>Row sums with the group collectives (for ptxas -v: registers and shared memory of a reduction).</summary>
    public static void RowSum(ArrayView<float> x, ArrayView<float> sums, int columns) // x [rows × columns], sums [rows]
    {
        int row = Grid.IdxX;
        float partial = 0f;
        for (int column = Group.IdxX; column < columns; column += Group.DimX)
            partial += x[row * columns + column];
        float sum = KsGroup.Sum(partial);
        if (Group.IdxX == 0)
            sums[row] = sum;
    }

    private static uint Pair(ArrayView<ushort> v, int index) => KernelSharp.Dsl.MmaTile.Pack(v[index], v[index + 1]);
}
