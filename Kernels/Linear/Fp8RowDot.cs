using System.Numerics.Tensors;
using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// A whole fp8 weight row against fp32 activations with 128-column block scales, as a per-thread intrinsic: the
/// kernel body is the plain loop of <see cref="GemvRowParts.StridedDotFp8"/>; the generated CPU path calls
/// <see cref="DotCpu"/>, which decodes each 128-value block through a 256-entry table and multiplies it with
/// TensorPrimitives (a scalar e4m3 decode per element would be several times slower).
/// </summary>
public static class Fp8RowDot
{
    /// <summary>e4m3 byte → float for all 256 encodings (NaN included), built from the Dsl decoder.</summary>
    private static readonly float[] DecodeTable = BuildDecodeTable();

    /// <summary>Σ fp8(w[i]) · scaleInv[scaleStart + i/128] · x[i] for i &lt; length.</summary>
    [Intrinsic(CpuBody = nameof(DotCpu))]
    public static float Dot(ArrayView<byte> weight, long weightStart, ArrayView<float> scaleInv, long scaleStart,
        ArrayView<float> input, long inputStart, int length) =>
        GemvRowParts.StridedDotFp8(weight, weightStart, scaleInv, scaleStart, input, inputStart, length, 0, 1);

    public static float DotCpu(ArrayView<byte> weight, long weightStart, ArrayView<float> scaleInv, long scaleStart,
        ArrayView<float> input, long inputStart, int length)
    {
        ReadOnlySpan<byte> row = HostSpan.Of(weight, weightStart, length);
        ReadOnlySpan<float> x = HostSpan.Of(input, inputStart, length);
        Span<float> decoded = stackalloc float[GemvRowParts.Fp8Block]; // one scale block of the row
        float total = 0f;
        for (int start = 0, block = 0; start < length; start += GemvRowParts.Fp8Block, block++)
        {
            int count = Math.Min(GemvRowParts.Fp8Block, length - start);
            for (int i = 0; i < count; i++)
                decoded[i] = DecodeTable[row[start + i]];
            total += TensorPrimitives.Dot(decoded[..count], x.Slice(start, count)) * scaleInv[scaleStart + block];
        }
        return total;
    }

    private static float[] BuildDecodeTable()
    {
        var table = new float[256];
        for (int bits = 0; bits < 256; bits++)
            table[bits] = Fp8E4M3.ToFloat((byte)bits);
        return table;
    }
}
