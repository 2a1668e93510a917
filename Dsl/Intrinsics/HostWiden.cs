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
                Decode64(ref Unsafe.Add(ref source, i), tables.Order, tables.High0, tables.High1, tables.Second0, tables.Second1,
                    out var v0, out var v1, out var v2, out var v3);
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
    /// Whether <see cref="TryE4M3DotRows"/> and <see cref="TryE4M3DotItems"/> decode in registers for rows of
    /// <paramref name="cols"/> codes with scale blocks of <paramref name="block"/>: where the machine has VBMI and prefers
    /// 512-bit vectors, and the rows and the blocks are whole 64s. Both take the same order (see
    /// <see cref="TryE4M3DotRows"/>), so one vector's sum is the same bits whichever of them computes it.
    /// </summary>
    public static bool DotsE4M3InRegisters(int cols, int block) =>
        Avx512Vbmi.IsSupported && Vector512.IsHardwareAccelerated && cols > 0 && cols % 64 == 0 && block > 0 && block % 64 == 0;

    // Scaled activations of up to this many columns (16 KB) go on the stack; a decode call covers 16 rows, so the scratch
    // costs as much as a row's loop and a thread-static lookup would be a visible part of it.
    private const int StackScaledLimit = 4096;

    [ThreadStatic]
    private static float[]? scaledScratch; // [cols] for wider rows: x with each block's scale applied, per host thread

    private static Span<float> ScaledScratch(int cols)
    {
        if (scaledScratch is null || scaledScratch.Length < cols)
            scaledScratch = new float[cols];
        return scaledScratch.AsSpan(0, cols);
    }

    /// <summary>
    /// sums[r] = Σ_c codes[r·cols + c] · (x[c] · blockScales[c / <paramref name="block"/>]) for <paramref name="rows"/>
    /// consecutive rows that share one row of block scales. The order: per 32 values a fused multiply-add of the low 16
    /// into one sum and of the high 16 into another, then the two sums added and reduced. The scale goes on the activation
    /// (once per call) rather than on the weight (once per value per row): decode streams an FP8 row once and is bound by
    /// the decode's vector work on this path, and the scale multiplies were four of its twenty operations per 64 codes.
    /// The values are decoded in registers (widening first cost a store and a reload per value), two rows per pass, so the
    /// tables and the activations are loaded once for both and each row's sum chains overlap the other's. False where
    /// <see cref="DotsE4M3InRegisters"/> is false: the caller widens (<see cref="E4M3"/>) and sums in its own order.
    /// </summary>
    public static bool TryE4M3DotRows(ReadOnlySpan<byte> codes, int cols, int rows, ReadOnlySpan<float> blockScales, int block,
        ReadOnlySpan<float> x, Span<float> sums)
    {
        if (!DotsE4M3InRegisters(cols, block))
            return false;
        if (x.Length < cols || (long)blockScales.Length * block < cols || (long)codes.Length < (long)rows * cols || sums.Length < rows)
            throw new ArgumentException($"{rows} rows of {cols} codes need {(long)rows * cols} codes, {cols} values, {(cols + block - 1) / block} block scales and {rows} sums", nameof(codes));
        Span<float> scaled = cols <= StackScaledLimit ? stackalloc float[cols] : ScaledScratch(cols);
        for (int start = 0, s = 0; start < cols; start += block, s++)
        {
            var scale = Vector512.Create(blockScales[s]);
            for (int i = start; i < start + block && i < cols; i += 16)
                (Vector512.Create(x.Slice(i, 16)) * scale).CopyTo(scaled.Slice(i, 16));
        }
        var tables = E4M3Tables.Instance;
        var order = tables.Order;
        var high0 = tables.High0;
        var high1 = tables.High1;
        var second0 = tables.Second0;
        var second1 = tables.Second1;
        ref byte source = ref MemoryMarshal.GetReference(codes);
        ref float values = ref MemoryMarshal.GetReference(scaled);
        int r = 0;
        for (; r + 2 <= rows; r += 2)
        {
            ref byte a = ref Unsafe.Add(ref source, (nint)r * cols);
            ref byte b = ref Unsafe.Add(ref a, cols);
            Vector512<float> lowA = default, highA = default, lowB = default, highB = default;
            for (int i = 0; i < cols; i += 64)
            {
                StreamAhead.Touch(ref a, i);
                StreamAhead.Touch(ref b, i);
                ref float at = ref Unsafe.Add(ref values, i);
                var x0 = Vector512.LoadUnsafe(ref at, 0);
                var x1 = Vector512.LoadUnsafe(ref at, 16);
                var x2 = Vector512.LoadUnsafe(ref at, 32);
                var x3 = Vector512.LoadUnsafe(ref at, 48);
                Decode64(ref Unsafe.Add(ref a, i), order, high0, high1, second0, second1, out var v0, out var v1, out var v2, out var v3);
                lowA = Vector512.MultiplyAddEstimate(v0, x0, lowA);
                highA = Vector512.MultiplyAddEstimate(v1, x1, highA);
                lowA = Vector512.MultiplyAddEstimate(v2, x2, lowA);
                highA = Vector512.MultiplyAddEstimate(v3, x3, highA);
                Decode64(ref Unsafe.Add(ref b, i), order, high0, high1, second0, second1, out v0, out v1, out v2, out v3);
                lowB = Vector512.MultiplyAddEstimate(v0, x0, lowB);
                highB = Vector512.MultiplyAddEstimate(v1, x1, highB);
                lowB = Vector512.MultiplyAddEstimate(v2, x2, lowB);
                highB = Vector512.MultiplyAddEstimate(v3, x3, highB);
            }
            sums[r] = Vector512.Sum(lowA + highA);
            sums[r + 1] = Vector512.Sum(lowB + highB);
        }
        if (r < rows)
        {
            ref byte a = ref Unsafe.Add(ref source, (nint)r * cols);
            Vector512<float> low = default, high = default;
            for (int i = 0; i < cols; i += 64)
            {
                StreamAhead.Touch(ref a, i);
                Decode64(ref Unsafe.Add(ref a, i), order, high0, high1, second0, second1, out var v0, out var v1, out var v2, out var v3);
                ref float at = ref Unsafe.Add(ref values, i);
                low = Vector512.MultiplyAddEstimate(v0, Vector512.LoadUnsafe(ref at, 0), low);
                high = Vector512.MultiplyAddEstimate(v1, Vector512.LoadUnsafe(ref at, 16), high);
                low = Vector512.MultiplyAddEstimate(v2, Vector512.LoadUnsafe(ref at, 32), low);
                high = Vector512.MultiplyAddEstimate(v3, Vector512.LoadUnsafe(ref at, 48), high);
            }
            sums[r] = Vector512.Sum(low + high);
        }
        return true;
    }

    /// <summary>
    /// sums[i] = the one row of <paramref name="row"/>'s codes times item i's activations x[i·itemStride …] for
    /// <paramref name="items"/> ≤ 4 items, each the bits <see cref="TryE4M3DotRows"/> gives for that item alone (the
    /// scaled activation is the same product, here formed in the loop): a batch item's result does not depend on the batch
    /// it is in. The row is decoded once for all items. False where <see cref="DotsE4M3InRegisters"/> is false.
    /// </summary>
    public static bool TryE4M3DotItems(ReadOnlySpan<byte> row, int cols, ReadOnlySpan<float> blockScales, int block,
        ReadOnlySpan<float> x, int itemStride, int items, Span<float> sums)
    {
        if (!DotsE4M3InRegisters(cols, block))
            return false;
        if (items < 1 || items > 4 || row.Length < cols || (long)blockScales.Length * block < cols || sums.Length < items
            || (long)(items - 1) * itemStride + cols > x.Length)
            throw new ArgumentException($"{items} items (1 to 4) of {cols} values at a stride of {itemStride} need {(long)(items - 1) * itemStride + cols} values, a row of {cols} codes, {(cols + block - 1) / block} block scales and {items} sums", nameof(x));
        var tables = E4M3Tables.Instance;
        ref byte codes = ref MemoryMarshal.GetReference(row);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        // Items past the count read item 0 again and are not stored, so the loop has no per-item branches on its loads.
        ref float x1 = ref Unsafe.Add(ref x0, items > 1 ? itemStride : 0);
        ref float x2 = ref Unsafe.Add(ref x0, items > 2 ? 2 * itemStride : 0);
        ref float x3 = ref Unsafe.Add(ref x0, items > 3 ? 3 * itemStride : 0);
        Vector512<float> low0 = default, high0 = default, low1 = default, high1 = default;
        Vector512<float> low2 = default, high2 = default, low3 = default, high3 = default;
        for (int start = 0, s = 0; start < cols; start += block, s++)
        {
            var scale = Vector512.Create(blockScales[s]);
            int end = Math.Min(cols, start + block);
            for (int i = start; i < end; i += 64)
            {
                StreamAhead.Touch(ref codes, i);
                Decode64(ref Unsafe.Add(ref codes, i), tables.Order, tables.High0, tables.High1, tables.Second0, tables.Second1,
                    out var v0, out var v1, out var v2, out var v3);
                AddItem(ref Unsafe.Add(ref x0, i), scale, v0, v1, v2, v3, ref low0, ref high0);
                AddItem(ref Unsafe.Add(ref x1, i), scale, v0, v1, v2, v3, ref low1, ref high1);
                AddItem(ref Unsafe.Add(ref x2, i), scale, v0, v1, v2, v3, ref low2, ref high2);
                AddItem(ref Unsafe.Add(ref x3, i), scale, v0, v1, v2, v3, ref low3, ref high3);
            }
        }
        sums[0] = Vector512.Sum(low0 + high0);
        if (items > 1)
            sums[1] = Vector512.Sum(low1 + high1);
        if (items > 2)
            sums[2] = Vector512.Sum(low2 + high2);
        if (items > 3)
            sums[3] = Vector512.Sum(low3 + high3);
        return true;
    }

    /// <summary>One item's 64 values of <see cref="TryE4M3DotItems"/>: the activations scaled, then the order of <see cref="TryE4M3DotRows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddItem(ref float x, Vector512<float> scale, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2,
        Vector512<float> v3, ref Vector512<float> low, ref Vector512<float> high)
    {
        low = Vector512.MultiplyAddEstimate(v0, Vector512.LoadUnsafe(ref x, 0) * scale, low);
        high = Vector512.MultiplyAddEstimate(v1, Vector512.LoadUnsafe(ref x, 16) * scale, high);
        low = Vector512.MultiplyAddEstimate(v2, Vector512.LoadUnsafe(ref x, 32) * scale, low);
        high = Vector512.MultiplyAddEstimate(v3, Vector512.LoadUnsafe(ref x, 48) * scale, high);
    }

    /// <summary>
    /// The 64 codes at <paramref name="source"/> as fp32 (unscaled), 16 per vector in order. Each code's fp32 value has
    /// only its top two bytes set: both are looked up (the 7 magnitude bits index 128-entry tables; the sign is OR-ed in)
    /// and interleaved into words, which are the fp32 values' top halves: a word's dword holds it either in its low half
    /// (shifted up) or already in its high half (masked). The unpack interleaves within 128-bit lanes and the dwords take
    /// every other word, so the codes are permuted first for the values to come out in order. Five shuffles for 64 codes
    /// (a two-table lookup counts two); unpacking words to dwords instead took nine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Decode64(ref byte source, Vector512<byte> order, Vector512<byte> high0, Vector512<byte> high1,
        Vector512<byte> second0, Vector512<byte> second1,
        out Vector512<float> v0, out Vector512<float> v1, out Vector512<float> v2, out Vector512<float> v3)
    {
        Vector512<byte> code = Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref source), order);
        Vector512<byte> high = Avx512Vbmi.PermuteVar64x8x2(high0, code, high1) | (code & Vector512.Create((byte)0x80));
        Vector512<byte> second = Avx512Vbmi.PermuteVar64x8x2(second0, code, second1);
        Vector512<uint> wordsLow = Avx512BW.UnpackLow(second, high).AsUInt32();
        Vector512<uint> wordsHigh = Avx512BW.UnpackHigh(second, high).AsUInt32();
        var upperHalf = Vector512.Create(0xFFFF_0000u);
        v0 = Vector512.ShiftLeft(wordsLow, 16).AsSingle();
        v1 = (wordsLow & upperHalf).AsSingle();
        v2 = Vector512.ShiftLeft(wordsHigh, 16).AsSingle();
        v3 = (wordsHigh & upperHalf).AsSingle();
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
        /// Where each of the 64 positions takes its code from, so that <see cref="Decode64"/>'s output vector k holds
        /// codes 16k … 16k + 15 in order. The byte-to-word unpack puts position 16L + j (j &lt; 8, or j − 8 for the high
        /// unpack) in word j of lane L; even words become dword j / 2 of one vector and odd words of the next.
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
            for (int lane = 0; lane < 4; lane++)
            {
                for (int k = 0; k < 4; k++)
                {
                    order[16 * lane + 2 * k] = (byte)(4 * lane + k);
                    order[16 * lane + 2 * k + 1] = (byte)(16 + 4 * lane + k);
                    order[16 * lane + 8 + 2 * k] = (byte)(32 + 4 * lane + k);
                    order[16 * lane + 8 + 2 * k + 1] = (byte)(48 + 4 * lane + k);
                }
            }
            High0 = Vector512.Create((ReadOnlySpan<byte>)high[..64]);
            High1 = Vector512.Create((ReadOnlySpan<byte>)high[64..]);
            Second0 = Vector512.Create((ReadOnlySpan<byte>)second[..64]);
            Second1 = Vector512.Create((ReadOnlySpan<byte>)second[64..]);
            Order = Vector512.Create((ReadOnlySpan<byte>)order);
        }
    }
}
