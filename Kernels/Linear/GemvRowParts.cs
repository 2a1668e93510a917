using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// One thread's share of a weight-row dot product in <see cref="GemvKernels"/> (and the batched GEMV): thread t of a
/// group of g takes 16-byte chunks t, t+g, t+2g, … so a warp reads 512 consecutive bytes per step (coalesced).
/// With g = 1 this is the whole row. Plain static methods: ILGPU inlines them into the kernel, the CPU path calls them.
/// </summary>
public static class GemvRowParts
{
    /// <summary>Rows and columns sharing one fp8 scale.</summary>
    public const int Fp8Block = 128;

    /// <summary>Σ w[i]·x[i] over this thread's float4 chunks of a row of <paramref name="length"/> floats.</summary>
    public static float StridedDotF32(ArrayView<float> weight, long weightStart, ArrayView<float> input, long inputStart,
        int length, int thread, int threads)
    {
        float total = 0f;
        // 16-byte loads need both rows to start on a 16-byte boundary (for whole buffers: row length a multiple of 4).
        if (Aligned16(weight, weightStart) && Aligned16(input, inputStart))
        {
            int quads = length / 4;
            for (int q = thread; q < quads; q += threads)
            {
                Float4 w = KsVector.LoadFloat4(weight, weightStart + 4L * q);
                Float4 x = KsVector.LoadFloat4(input, inputStart + 4L * q);
                total += Float4.Dot(w, x);
            }
            for (int i = quads * 4 + thread; i < length; i += threads)
                total += weight[weightStart + i] * input[inputStart + i];
        }
        else
        {
            for (int i = thread; i < length; i += threads)
                total += weight[weightStart + i] * input[inputStart + i];
        }
        return total;
    }

    /// <summary>Σ bf16(w[i])·x[i] over this thread's 8-value (16-byte) chunks of the row.</summary>
    public static float StridedDotBf16(ArrayView<ushort> weight, long weightStart, ArrayView<float> input, long inputStart,
        int length, int thread, int threads)
    {
        float total = 0f;
        if (Aligned16(weight, weightStart) && Aligned16(input, inputStart))
        {
            int octets = length / 8;
            var packed = weight.SubView(weightStart, 8L * octets).AsAligned(16).Cast<PackedWords>(); // [octets] of 8 bf16
            for (int o = thread; o < octets; o += threads)
            {
                PackedWords w = packed[o];
                Float4 x0 = KsVector.LoadFloat4(input, inputStart + 8L * o);
                Float4 x1 = KsVector.LoadFloat4(input, inputStart + 8L * o + 4);
                total += LowBf16(w.A) * x0.X + HighBf16(w.A) * x0.Y + LowBf16(w.B) * x0.Z + HighBf16(w.B) * x0.W
                       + LowBf16(w.C) * x1.X + HighBf16(w.C) * x1.Y + LowBf16(w.D) * x1.Z + HighBf16(w.D) * x1.W;
            }
            for (int i = octets * 8 + thread; i < length; i += threads)
                total += Bf16.ToFloat(weight[weightStart + i]) * input[inputStart + i];
        }
        else
        {
            for (int i = thread; i < length; i += threads)
                total += Bf16.ToFloat(weight[weightStart + i]) * input[inputStart + i];
        }
        return total;
    }

    /// <summary>
    /// Σ fp8(w[i])·scale(i)·x[i] over this thread's 16-value chunks; a 16-byte chunk never straddles a 128-column
    /// scale block because 128 is a multiple of 16. scaleStart: offset of this row's block row in scaleInv.
    /// </summary>
    public static float StridedDotFp8(ArrayView<byte> weight, long weightStart, ArrayView<float> scaleInv, long scaleStart,
        ArrayView<float> input, long inputStart, int length, int thread, int threads)
    {
        float total = 0f;
        if (Aligned16(weight, weightStart) && Aligned16(input, inputStart))
        {
            int chunks = length / 16;
            var packed = weight.SubView(weightStart, 16L * chunks).AsAligned(16).Cast<PackedWords>(); // [chunks] of 16 e4m3
            for (int c = thread; c < chunks; c += threads)
            {
                PackedWords w = packed[c];
                long column = 16L * c;
                float scale = scaleInv[scaleStart + column / Fp8Block];
                float sum = DotFp8Word(w.A, input, inputStart + column)
                          + DotFp8Word(w.B, input, inputStart + column + 4)
                          + DotFp8Word(w.C, input, inputStart + column + 8)
                          + DotFp8Word(w.D, input, inputStart + column + 12);
                total += sum * scale;
            }
            for (int i = chunks * 16 + thread; i < length; i += threads)
                total += Fp8E4M3.ToFloat(weight[weightStart + i]) * scaleInv[scaleStart + i / Fp8Block] * input[inputStart + i];
        }
        else
        {
            for (int i = thread; i < length; i += threads)
                total += Fp8E4M3.ToFloat(weight[weightStart + i]) * scaleInv[scaleStart + i / Fp8Block] * input[inputStart + i];
        }
        return total;
    }

    /// <summary>Four little-endian e4m3 bytes of <paramref name="word"/> against x[start..start+3], decoded together
    /// (<see cref="Fp8E4M3.ToFloat4"/>: about half the integer work of four separate decodes).</summary>
    private static float DotFp8Word(uint word, ArrayView<float> input, long start) =>
        Float4.Dot(Fp8E4M3.ToFloat4(word), KsVector.LoadFloat4(input, start));

    /// <summary>Whether element <paramref name="start"/> of the view sits on a 16-byte boundary, from the actual address
    /// (KsVector.IsAligned16), so a sub-view at any offset falls back to scalar loads instead of a misaligned vector access.</summary>
    private static bool Aligned16<T>(ArrayView<T> view, long start) where T : unmanaged =>
        KsVector.IsAligned16(view, start);

    private static float LowBf16(uint word) => Interop.IntAsFloat(word << 16);

    private static float HighBf16(uint word) => Interop.IntAsFloat(word & 0xFFFF_0000u);
}

/// <summary>16 bytes read as one vector access (8 bf16 or 16 e4m3 values), little-endian words.</summary>
public struct PackedWords
{
    public uint A;
    public uint B;
    public uint C;
    public uint D;
}
