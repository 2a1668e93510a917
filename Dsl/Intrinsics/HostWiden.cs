using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace KernelSharp.Dsl;

/// <summary>
/// Stored weight values widened to fp32 on the host, in the widest vectors the machine has: the row reads of the
/// generated CPU path (GEMV, GEMM panels), which run once per weight byte in decode and so must keep up with memory.
/// Each value is exactly what the scalar decoders give (<see cref="Bf16.ToFloat"/>, <see cref="Fp8E4M3.ToFloat"/> times
/// the scale), so a host sum over a widened row equals the same sum over the scalar decode.
/// </summary>
public static class HostWiden
{
    /// <summary>destination[i] = bf16 bits[i] as fp32 (a 16-bit shift, exact).</summary>
    public static void Bf16(ReadOnlySpan<ushort> bits, Span<float> destination)
    {
        if (destination.Length < bits.Length)
            throw new ArgumentException($"{destination.Length} floats cannot hold {bits.Length} bf16 values", nameof(destination));
        ref ushort source = ref MemoryMarshal.GetReference(bits);
        ref uint target = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(destination));
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= bits.Length; i += 32)
            {
                StreamAhead.Touch(ref source, i);
                (Vector512<uint> low, Vector512<uint> high) = Vector512.Widen(Vector512.LoadUnsafe(ref source, (nuint)i));
                Vector512.ShiftLeft(low, 16).StoreUnsafe(ref target, (nuint)i);
                Vector512.ShiftLeft(high, 16).StoreUnsafe(ref target, (nuint)(i + 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= bits.Length; i += 16)
            {
                (Vector256<uint> low, Vector256<uint> high) = Vector256.Widen(Vector256.LoadUnsafe(ref source, (nuint)i));
                Vector256.ShiftLeft(low, 16).StoreUnsafe(ref target, (nuint)i);
                Vector256.ShiftLeft(high, 16).StoreUnsafe(ref target, (nuint)(i + 8));
            }
        }
        for (; i < bits.Length; i++)
            destination[i] = KernelSharp.Dsl.Bf16.ToFloat(bits[i]);
    }

    /// <summary>
    /// destination[i] = e4m3 codes[i] as fp32 times <paramref name="scale"/>, NaN codes included: the values of
    /// <see cref="Fp8E4M3.ToFloat"/>, then the scale.
    /// </summary>
    public static void E4M3(ReadOnlySpan<byte> codes, float scale, Span<float> destination)
    {
        if (destination.Length < codes.Length)
            throw new ArgumentException($"{destination.Length} floats cannot hold {codes.Length} e4m3 values", nameof(destination));
        ref byte source = ref MemoryMarshal.GetReference(codes);
        ref float target = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Avx512Vbmi.IsSupported)
        {
            var tables = E4M3Tables.Instance;
            var scales = Vector512.Create(scale);
            for (; i + 64 <= codes.Length; i += 64)
            {
                StreamAhead.Touch(ref source, i);
                Decode64(ref Unsafe.Add(ref source, i), tables, out var v0, out var v1, out var v2, out var v3);
                ref float at = ref Unsafe.Add(ref target, i);
                (v0 * scales).StoreUnsafe(ref at, 0);
                (v1 * scales).StoreUnsafe(ref at, 16);
                (v2 * scales).StoreUnsafe(ref at, 32);
                (v3 * scales).StoreUnsafe(ref at, 48);
            }
        }
        // Without VBMI (and for the last whole 16s): the arithmetic decode, 16 or 8 codes at a time.
        if (Avx512F.IsSupported)
        {
            var scales = Vector512.Create(scale);
            for (; i + 16 <= codes.Length; i += 16)
            {
                if ((i & 63) == 0)
                    StreamAhead.Touch(ref source, i);
                Vector512<uint> widened = Avx512F.ConvertToVector512UInt32(Vector128.LoadUnsafe(ref source, (nuint)i));
                (Decode(widened) * scales).StoreUnsafe(ref target, (nuint)i);
            }
        }
        else if (Avx2.IsSupported)
        {
            var scales = Vector256.Create(scale);
            for (; i + 8 <= codes.Length; i += 8)
            {
                Vector256<uint> widened = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(
                    MemoryMarshal.Read<ulong>(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref source, i), 8))).AsByte()).AsUInt32();
                (Decode(widened) * scales).StoreUnsafe(ref target, (nuint)i);
            }
        }
        for (; i < codes.Length; i++)
            destination[i] = Fp8E4M3.ToFloat(codes[i]) * scale;
    }

    /// <summary>
    /// Σ_c (codes[c] · blockScales[c / <paramref name="block"/>]) · x[c] in the order of the host GEMV over a widened row
    /// (<c>HostRowDots</c>: per 32 values a fused multiply-add of the low 16 into one sum and of the high 16 into another,
    /// then the two sums added and reduced), the values decoded in registers instead of through a widened row: decode
    /// streams an FP8 row once, and widening it first cost a store and a reload per value and left the multiply-adds waiting
    /// on each other. Only where the machine has VBMI and prefers 512-bit vectors, and the row and the blocks are whole
    /// 64s: false otherwise, and the caller widens.
    /// </summary>
    public static bool TryE4M3Dot(ReadOnlySpan<byte> codes, ReadOnlySpan<float> blockScales, int block, ReadOnlySpan<float> x, out float sum)
    {
        sum = 0f;
        int length = codes.Length;
        if (!Avx512Vbmi.IsSupported || !Vector512.IsHardwareAccelerated || length % 64 != 0 || block <= 0 || block % 64 != 0)
            return false;
        if (x.Length < length || (long)blockScales.Length * block < length)
            throw new ArgumentException($"{length} codes need {length} values and {(length + block - 1) / block} block scales", nameof(x));
        var tables = E4M3Tables.Instance;
        ref byte source = ref MemoryMarshal.GetReference(codes);
        ref float values = ref MemoryMarshal.GetReference(x);
        Vector512<float> low = default, high = default;
        for (int start = 0, b = 0; start < length; start += block, b++)
        {
            var scale = Vector512.Create(blockScales[b]);
            int end = Math.Min(length, start + block);
            for (int i = start; i < end; i += 64)
            {
                StreamAhead.Touch(ref source, i);
                Decode64(ref Unsafe.Add(ref source, i), tables, out var v0, out var v1, out var v2, out var v3);
                ref float at = ref Unsafe.Add(ref values, i);
                low = Vector512.MultiplyAddEstimate(v0 * scale, Vector512.LoadUnsafe(ref at, 0), low);
                high = Vector512.MultiplyAddEstimate(v1 * scale, Vector512.LoadUnsafe(ref at, 16), high);
                low = Vector512.MultiplyAddEstimate(v2 * scale, Vector512.LoadUnsafe(ref at, 32), low);
                high = Vector512.MultiplyAddEstimate(v3 * scale, Vector512.LoadUnsafe(ref at, 48), high);
            }
        }
        sum = Vector512.Sum(low + high);
        return true;
    }

    /// <summary>
    /// The 64 codes at <paramref name="source"/> as fp32 (unscaled), 16 per vector in order. Each code's fp32 value has
    /// only its top two bytes set: both are looked up (the 7 magnitude bits index 128-entry tables; the sign is OR-ed in)
    /// and interleaved into fp32 words. The unpacks interleave within 128-bit lanes, so the codes are permuted first
    /// for the words to come out in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Decode64(ref byte source, E4M3Tables tables,
        out Vector512<float> v0, out Vector512<float> v1, out Vector512<float> v2, out Vector512<float> v3)
    {
        Vector512<byte> code = Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref source), tables.Order);
        Vector512<byte> high = Avx512Vbmi.PermuteVar64x8x2(tables.High0, code, tables.High1) | (code & Vector512.Create((byte)0x80));
        Vector512<byte> second = Avx512Vbmi.PermuteVar64x8x2(tables.Second0, code, tables.Second1);
        Vector512<ushort> wordsLow = Avx512BW.UnpackLow(second, high).AsUInt16();
        Vector512<ushort> wordsHigh = Avx512BW.UnpackHigh(second, high).AsUInt16();
        v0 = Avx512BW.UnpackLow(Vector512<ushort>.Zero, wordsLow).AsSingle();
        v1 = Avx512BW.UnpackHigh(Vector512<ushort>.Zero, wordsLow).AsSingle();
        v2 = Avx512BW.UnpackLow(Vector512<ushort>.Zero, wordsHigh).AsSingle();
        v3 = Avx512BW.UnpackHigh(Vector512<ushort>.Zero, wordsHigh).AsSingle();
    }

    // Normal codes: the 7 magnitude bits moved to fp32's exponent/mantissa boundary, the exponent rebiased from 7 to 127
    // by an integer add. Subnormal codes (exponent 0: m · 2^-9, and zero) by an exact int → float conversion. No float
    // arithmetic on subnormal inputs: the GPU decoder's ×2^120 rebias takes a microcode assist per subnormal on the host
    // (a GEMV over uniformly random codes ran at 0.7 GB/s with it).
    private const uint ExponentRebias = (127u - 7u) << 23;
    private const float SubnormalStep = 1f / 512f; // 2^-9
    private const uint QuietNaN = 0x7FC0_0000u;

    // The same decode at two widths: .NET 10's Vector512/Vector256 operators are not reachable through ISimdVector from
    // user generics (CS0315), so one generic body cannot serve both.
    private static Vector512<float> Decode(Vector512<uint> code)
    {
        Vector512<uint> magnitude = code & Vector512.Create(0x7Fu);
        Vector512<uint> sign = (code & Vector512.Create(0x80u)) << 24;
        Vector512<uint> normal = Vector512.ShiftLeft(magnitude, 20) + Vector512.Create(ExponentRebias);
        Vector512<uint> subnormal = (Vector512.ConvertToSingle(magnitude.AsInt32()) * Vector512.Create(SubnormalStep)).AsUInt32();
        Vector512<uint> bits = Vector512.ConditionalSelect(
            Vector512.Equals(magnitude & Vector512.Create(0x78u), Vector512<uint>.Zero), subnormal, normal);
        bits = Vector512.ConditionalSelect(Vector512.Equals(magnitude, Vector512.Create(0x7Fu)), Vector512.Create(QuietNaN), bits);
        return (bits | sign).AsSingle();
    }

    private static Vector256<float> Decode(Vector256<uint> code)
    {
        Vector256<uint> magnitude = code & Vector256.Create(0x7Fu);
        Vector256<uint> sign = (code & Vector256.Create(0x80u)) << 24;
        Vector256<uint> normal = Vector256.ShiftLeft(magnitude, 20) + Vector256.Create(ExponentRebias);
        Vector256<uint> subnormal = (Vector256.ConvertToSingle(magnitude.AsInt32()) * Vector256.Create(SubnormalStep)).AsUInt32();
        Vector256<uint> bits = Vector256.ConditionalSelect(
            Vector256.Equals(magnitude & Vector256.Create(0x78u), Vector256<uint>.Zero), subnormal, normal);
        bits = Vector256.ConditionalSelect(Vector256.Equals(magnitude, Vector256.Create(0x7Fu)), Vector256.Create(QuietNaN), bits);
        return (bits | sign).AsSingle();
    }

    /// <summary>The lookup tables and the code order of the VBMI path.</summary>
    private sealed class E4M3Tables
    {
        public static readonly E4M3Tables Instance = new();

        /// <summary>Top byte (sign clear) of the fp32 bits of magnitudes 0–63 and 64–127.</summary>
        public readonly Vector512<byte> High0, High1;

        /// <summary>Second byte of the same fp32 bits (the lower two bytes are zero for every e4m3 value).</summary>
        public readonly Vector512<byte> Second0, Second1;

        /// <summary>
        /// Where code j of 64 is taken from so that after the in-lane unpacks (bytes to words, words to dwords) output
        /// vector k holds codes 16k … 16k + 15 in order: lane L, dword j of vector k comes from byte 16L + 4k + j.
        /// </summary>
        public readonly Vector512<byte> Order;

        private E4M3Tables()
        {
            Span<byte> high = stackalloc byte[128], second = stackalloc byte[128], order = stackalloc byte[64];
            for (int magnitude = 0; magnitude < 128; magnitude++)
            {
                uint bits = BitConverter.SingleToUInt32Bits(Fp8E4M3.ToFloat((byte)magnitude));
                high[magnitude] = (byte)(bits >> 24);
                second[magnitude] = (byte)(bits >> 16);
            }
            for (int k = 0; k < 4; k++)
                for (int lane = 0; lane < 4; lane++)
                    for (int j = 0; j < 4; j++)
                        order[16 * lane + 4 * k + j] = (byte)(16 * k + 4 * lane + j);
            High0 = Vector512.Create((ReadOnlySpan<byte>)high[..64]);
            High1 = Vector512.Create((ReadOnlySpan<byte>)high[64..]);
            Second0 = Vector512.Create((ReadOnlySpan<byte>)second[..64]);
            Second1 = Vector512.Create((ReadOnlySpan<byte>)second[64..]);
            Order = Vector512.Create((ReadOnlySpan<byte>)order);
        }
    }
}
