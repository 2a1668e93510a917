namespace KernelSharp.Kernels.Formats;

/// <summary>Eight 32-bit words in registers (32 bytes: 16 bf16 or 32 e4m3 values); no local array.</summary>
public struct Words8
{
    public uint W0;
    public uint W1;
    public uint W2;
    public uint W3;
    public uint W4;
    public uint W5;
    public uint W6;
    public uint W7;

    public Words8(PackedWords low, PackedWords high)
    {
        W0 = low.A;
        W1 = low.B;
        W2 = low.C;
        W3 = low.D;
        W4 = high.A;
        W5 = high.B;
        W6 = high.C;
        W7 = high.D;
    }

    /// <summary>Word <paramref name="i"/> (0..7); i is a constant where kernels call it, so this folds.</summary>
    public readonly uint Word(int i) =>
        i == 0 ? W0 : i == 1 ? W1 : i == 2 ? W2 : i == 3 ? W3 : i == 4 ? W4 : i == 5 ? W5 : i == 6 ? W6 : W7;
}
