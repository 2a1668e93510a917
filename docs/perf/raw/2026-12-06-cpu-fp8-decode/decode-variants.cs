// FP8 (e4m3) decode-dot variants, two rows per pass over 64 KB of codes (L2-resident), one thread: which part of the
// register decode costs the time. Timing only: variants 1 and 2 do not decode correctly.
//   0: HostWiden's decode (code permute, two two-table lookups, two unpacks, shift/and) and four FMAs per row
//   1: variant 0 without the code permute          2: variant 0 without the second-byte lookup
//   5: the unpacks and shift/and replaced by four two-table permutes straight into the fp32 positions (masked)
// Build: copy this file as Program.cs beside decode-variants.csproj.txt (as v.csproj); dotnet run -c Release.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
int cols = 1024, rows = 64; // 64 KB
var codes = new byte[rows * cols]; new Random(1).NextBytes(codes);
for (int i = 0; i < codes.Length; i++) if ((codes[i] & 0x7F) == 0x7F) codes[i] ^= 1;
var x = new float[cols]; for (int i = 0; i < cols; i++) x[i] = i * 1e-3f;
float sink = 0;
foreach (var variant in new[] { 0, 1, 2, 5, 0, 1, 2, 5 })
{
    double best = 1e9;
    for (int rep = 0; rep < 20; rep++)
    {
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < 200; k++)
            for (int r = 0; r < rows; r += 2)
                sink += K.Run(variant, codes.AsSpan(r * cols, 2 * cols), x, cols);
        best = Math.Min(best, sw.Elapsed.TotalSeconds / 200);
    }
    Console.WriteLine($"variant {variant}: {rows * cols / best / 1e9:F2} GB/s  ({float.IsFinite(sink)})");
}

static class K
{
    static float E4M3(int m) { int e = m >> 3, f = m & 7; return e == 0 ? f / 512f : MathF.Pow(2, e - 7) * (1 + f / 8f); }
    static readonly byte[] hi = Enumerable.Range(0, 128).Select(m => (byte)(BitConverter.SingleToUInt32Bits(E4M3(m)) >> 24)).ToArray();
    static readonly byte[] se = Enumerable.Range(0, 128).Select(m => (byte)(BitConverter.SingleToUInt32Bits(E4M3(m)) >> 16)).ToArray();
    static readonly Vector512<byte> T0 = Vector512.Create(hi[..64]), T1 = Vector512.Create(hi[64..]), T2 = Vector512.Create(se[..64]), T3 = Vector512.Create(se[64..]);
    static readonly Vector512<byte> Ord = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)((i * 5) & 63)).ToArray());

    public static float Run(int v, ReadOnlySpan<byte> c, float[] xs, int n) => v switch {
        0 => Pair(c, xs, n, T0, T1, T2, T3, Ord, 0), 1 => Pair(c, xs, n, T0, T1, T2, T3, Ord, 1), 2 => Pair(c, xs, n, T0, T1, T2, T3, Ord, 2),
        _ => Pair5(c, xs, n, T0, T1, T2, T3) };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Pair(ReadOnlySpan<byte> c, float[] xs, int n, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3, Vector512<byte> ord, int mode)
    {
        ref byte a = ref MemoryMarshal.GetReference(c); ref byte b = ref Unsafe.Add(ref a, n);
        ref float xv = ref xs[0];
        Vector512<float> la = default, ha = default, lb = default, hb = default;
        for (int i = 0; i < n; i += 64)
        {
            ref float at = ref Unsafe.Add(ref xv, i);
            var x0 = Vector512.LoadUnsafe(ref at, 0); var x1 = Vector512.LoadUnsafe(ref at, 16);
            var x2 = Vector512.LoadUnsafe(ref at, 32); var x3 = Vector512.LoadUnsafe(ref at, 48);
            Dec(ref Unsafe.Add(ref a, i), t0, t1, t2, t3, ord, mode, out var v0, out var v1, out var v2, out var v3);
            la = Vector512.FusedMultiplyAdd(v0, x0, la); ha = Vector512.FusedMultiplyAdd(v1, x1, ha); la = Vector512.FusedMultiplyAdd(v2, x2, la); ha = Vector512.FusedMultiplyAdd(v3, x3, ha);
            Dec(ref Unsafe.Add(ref b, i), t0, t1, t2, t3, ord, mode, out v0, out v1, out v2, out v3);
            lb = Vector512.FusedMultiplyAdd(v0, x0, lb); hb = Vector512.FusedMultiplyAdd(v1, x1, hb); lb = Vector512.FusedMultiplyAdd(v2, x2, lb); hb = Vector512.FusedMultiplyAdd(v3, x3, hb);
        }
        return Vector512.Sum(la + ha) + Vector512.Sum(lb + hb);
    }

    static readonly Vector512<byte> I0 = Idx(0), I1 = Idx(1), I2 = Idx(2), I3 = Idx(3);
    static Vector512<byte> Idx(int k) { var b = new byte[64]; for (int d = 0; d < 16; d++) { b[4 * d + 2] = (byte)(64 + 16 * k + d); b[4 * d + 3] = (byte)(16 * k + d); } return Vector512.Create(b); }
    static readonly Vector512<byte> Keep = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)((i & 3) >= 2 ? 0xFF : 0)).ToArray());

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Pair5(ReadOnlySpan<byte> c, float[] xs, int n, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3)
    {
        ref byte a = ref MemoryMarshal.GetReference(c); ref byte b = ref Unsafe.Add(ref a, n);
        ref float xv = ref xs[0];
        var i0 = I0; var i1 = I1; var i2 = I2; var i3 = I3; var keep = Vector512.GreaterThan(Keep, Vector512<byte>.Zero);
        Vector512<float> la = default, ha = default, lb = default, hb = default;
        for (int i = 0; i < n; i += 64)
        {
            ref float at = ref Unsafe.Add(ref xv, i);
            var x0 = Vector512.LoadUnsafe(ref at, 0); var x1 = Vector512.LoadUnsafe(ref at, 16);
            var x2 = Vector512.LoadUnsafe(ref at, 32); var x3 = Vector512.LoadUnsafe(ref at, 48);
            Dec5(ref Unsafe.Add(ref a, i), t0, t1, t2, t3, i0, i1, i2, i3, keep, out var v0, out var v1, out var v2, out var v3);
            la = Vector512.FusedMultiplyAdd(v0, x0, la); ha = Vector512.FusedMultiplyAdd(v1, x1, ha); la = Vector512.FusedMultiplyAdd(v2, x2, la); ha = Vector512.FusedMultiplyAdd(v3, x3, ha);
            Dec5(ref Unsafe.Add(ref b, i), t0, t1, t2, t3, i0, i1, i2, i3, keep, out v0, out v1, out v2, out v3);
            lb = Vector512.FusedMultiplyAdd(v0, x0, lb); hb = Vector512.FusedMultiplyAdd(v1, x1, hb); lb = Vector512.FusedMultiplyAdd(v2, x2, lb); hb = Vector512.FusedMultiplyAdd(v3, x3, hb);
        }
        return Vector512.Sum(la + ha) + Vector512.Sum(lb + hb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Dec5(ref byte s, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3,
        Vector512<byte> i0, Vector512<byte> i1, Vector512<byte> i2, Vector512<byte> i3, Vector512<byte> keep,
        out Vector512<float> v0, out Vector512<float> v1, out Vector512<float> v2, out Vector512<float> v3)
    {
        var code = Vector512.LoadUnsafe(ref s);
        var high = Avx512Vbmi.PermuteVar64x8x2(t0, code, t1) | (code & Vector512.Create((byte)0x80));
        var second = Avx512Vbmi.PermuteVar64x8x2(t2, code, t3);
        v0 = Vector512.ConditionalSelect(keep, Avx512Vbmi.PermuteVar64x8x2(high, i0, second), Vector512<byte>.Zero).AsSingle();
        v1 = Vector512.ConditionalSelect(keep, Avx512Vbmi.PermuteVar64x8x2(high, i1, second), Vector512<byte>.Zero).AsSingle();
        v2 = Vector512.ConditionalSelect(keep, Avx512Vbmi.PermuteVar64x8x2(high, i2, second), Vector512<byte>.Zero).AsSingle();
        v3 = Vector512.ConditionalSelect(keep, Avx512Vbmi.PermuteVar64x8x2(high, i3, second), Vector512<byte>.Zero).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Dec(ref byte s, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3, Vector512<byte> ord, int mode,
        out Vector512<float> v0, out Vector512<float> v1, out Vector512<float> v2, out Vector512<float> v3)
    {
        var code = Vector512.LoadUnsafe(ref s);
        if (mode != 1) code = Avx512Vbmi.PermuteVar64x8(code, ord);
        var high = Avx512Vbmi.PermuteVar64x8x2(t0, code, t1) | (code & Vector512.Create((byte)0x80));
        var second = mode == 2 ? code << 4 : Avx512Vbmi.PermuteVar64x8x2(t2, code, t3);
        var wl = Avx512BW.UnpackLow(second, high).AsUInt32(); var wh = Avx512BW.UnpackHigh(second, high).AsUInt32();
        var up = Vector512.Create(0xFFFF0000u);
        v0 = Vector512.ShiftLeft(wl, 16).AsSingle(); v1 = (wl & up).AsSingle(); v2 = Vector512.ShiftLeft(wh, 16).AsSingle(); v3 = (wh & up).AsSingle();
    }
}
