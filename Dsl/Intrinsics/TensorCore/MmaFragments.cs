namespace KernelSharp.Dsl;

/// <summary>
/// One lane's share of the 16×8 fp32 accumulator tile of <c>mma.sync.m16n8k16</c>. With <c>g = lane / 4</c> and
/// <c>t = lane % 4</c>: C0 = C[g][2t], C1 = C[g][2t+1], C2 = C[g+8][2t], C3 = C[g+8][2t+1].
/// </summary>
public struct MmaAccumulator
{
    public float C0;
    public float C1;
    public float C2;
    public float C3;

    public MmaAccumulator(float c0, float c1, float c2, float c3)
    {
        C0 = c0;
        C1 = c1;
        C2 = c2;
        C3 = c3;
    }

    public override readonly string ToString() => $"({C0}, {C1}, {C2}, {C3})";
}

/// <summary>
/// Every operand one lane passes to <see cref="TensorCore.MmaBf16"/>: its accumulator share and its A/B fragment
/// words (each word packs two bf16, the lower-index element in the low half). With <c>g = lane / 4</c>, <c>t = lane % 4</c>:
/// <list type="bullet">
/// <item>A (16×16, row-major): A0 = A[g][2t..2t+1], A1 = A[g+8][2t..2t+1], A2 = A[g][2t+8..2t+9], A3 = A[g+8][2t+8..2t+9].</item>
/// <item>B (16×8, k-major "col"): B0 = B[2t..2t+1][g], B1 = B[2t+8..2t+9][g].</item>
/// </list>
/// Flat fields (no nested struct) so the PTX intrinsic sees ten scalar registers in declaration order.
/// </summary>
public struct MmaBf16Fragments
{
    public float C0;
    public float C1;
    public float C2;
    public float C3;
    public uint A0;
    public uint A1;
    public uint A2;
    public uint A3;
    public uint B0;
    public uint B1;

    public MmaBf16Fragments(MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        C0 = c.C0;
        C1 = c.C1;
        C2 = c.C2;
        C3 = c.C3;
        A0 = a0;
        A1 = a1;
        A2 = a2;
        A3 = a3;
        B0 = b0;
        B1 = b1;
    }

    public readonly MmaAccumulator Accumulator => new(C0, C1, C2, C3);
}

/// <summary>
/// One lane's result of <see cref="TensorCore.LdMatrixX4"/>: four 8×8 bf16 matrices, R<i>i</i> holds row
/// <c>lane / 4</c>, columns <c>2·(lane % 4)</c> and <c>+1</c> of matrix i (low half = lower column).
/// </summary>
public struct MatrixFragmentX4
{
    public uint R0;
    public uint R1;
    public uint R2;
    public uint R3;

    public MatrixFragmentX4(uint r0, uint r1, uint r2, uint r3)
    {
        R0 = r0;
        R1 = r1;
        R2 = r2;
        R3 = r3;
    }
}
