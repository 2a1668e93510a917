using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>e4m3 byte → float for all 256 encodings (NaN included), built from the Dsl decoder: the host-side decode
/// of <see cref="Fp8BlockRows.RowDotCpu"/> and <see cref="Fp8RowScaledRows.RowDotCpu"/> (a table lookup per value instead of
/// the bit arithmetic).</summary>
internal static class Fp8DecodeTable
{
    private static readonly float[] Values = Build();

    public static void Decode(ReadOnlySpan<byte> codes, Span<float> destination)
    {
        for (int i = 0; i < codes.Length; i++)
            destination[i] = Values[codes[i]];
    }

    private static float[] Build()
    {
        var table = new float[256];
        for (int bits = 0; bits < 256; bits++)
            table[bits] = Fp8E4M3.ToFloat((byte)bits);
        return table;
    }
}
