using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// A weight row times up to four vectors on the host: the inner loop of the host forms of the GEMV
/// (<see cref="GemvKernels"/>) and of the MLA output projection (never compiled for a GPU).
/// </summary>
/// <remarks>
/// Each 32-value chunk of the row is loaded and widened once and multiplied into the four vectors' sums.
/// <para>
/// Batch invariance: a vector's sum is the same operations in the same order whatever the other vectors of the call:
/// per 32 values (16 where .NET prefers 256-bit vectors or the row is shorter than 32), a low and a high half's fused multiply-add, then the two
/// halves' sums added and reduced, then the columns past the last whole chunk one by one. For bf16 this is the order of
/// <c>Bf16Dot.Compute</c>, the format's single-vector <c>RowDotCpu</c>, which one vector uses directly. Rows of other
/// formats are widened to fp32 first (exactly, or with their block scale applied per value), unless the format has a
/// host form of its own (<see cref="IRowFormat{TSelf}.TryRowsDotCpu"/>, <see cref="IRowFormat{TSelf}.TryRowDotItemsCpu"/>:
/// FP8 block rows decoded in registers, the scale on the activations), which then serves one vector and several alike.
/// </para>
/// </remarks>
public static class HostRowDots
{
    /// <summary>Vectors one call multiplies with a row.</summary>
    public const int ItemBlock = 4;

    [ThreadStatic]
    private static float[]? rowScratch; // [cols]: a bf16 or other row widened to fp32, per host thread

    /// <summary>
    /// sums[i] = W[row] · x[xStart + i·itemStride …] for <paramref name="items"/> ≤ 4 items, each the same operations in
    /// the same order whatever the other items (see the remarks). Used by every host form that multiplies weight rows
    /// with vectors.
    /// </summary>
    public static void RowTimesItems<TWeights>(TWeights weight, int row, int cols, ArrayView<float> x, long xStart, int itemStride,
        int items, Span<float> sums)
        where TWeights : struct, IRowFormat<TWeights>
    {
        if (items == 1 ? weight.TryRowsDotCpu(row, 1, cols, x, xStart, sums)
            : weight.TryRowDotItemsCpu(row, cols, x, xStart, itemStride, items, sums))
            return;
        ReadOnlySpan<float> vectors = HostSpan.Of(x, xStart, (items - 1) * itemStride + cols);
        ReadOnlySpan<float> values = RowAsFloats(weight, row, cols);
        ref float w = ref MemoryMarshal.GetReference(values);
        ref float x0 = ref MemoryMarshal.GetReference(vectors);
        // The widths Bf16Dot picks: 512 bits from 32 values where accelerated, else 256 bits from 16, else none.
        bool wide = Vector512.IsHardwareAccelerated && cols >= 32;
        int whole = 0;
        if (items == 4)
        {
            whole = wide ? Four512(ref w, ref x0, itemStride, cols, sums) : Four256(ref w, ref x0, itemStride, cols, sums);
        }
        else
        {
            for (int i = 0; i < items; i++)
                whole = wide ? One512(ref w, ref Unsafe.Add(ref x0, i * itemStride), cols, out sums[i])
                    : One256(ref w, ref Unsafe.Add(ref x0, i * itemStride), cols, out sums[i]);
        }
        for (int i = 0; i < items; i++)
        {
            ReadOnlySpan<float> xi = vectors.Slice(i * itemStride, cols);
            float total = sums[i];
            for (int c = whole; c < cols; c++)
                total += values[c] * xi[c];
            sums[i] = total;
        }
    }

    /// <summary>
    /// Row <paramref name="row"/> of W [·, cols] in fp32: the stored row for fp32, else the row widened into this host
    /// thread's scratch (valid until its next call). bf16 widens exactly (a 16-bit shift), so sums over it are those of the
    /// bf16 dot product over the same values.
    /// </summary>
    internal static ReadOnlySpan<float> RowAsFloats<TWeights>(TWeights weight, int row, int cols)
        where TWeights : struct, IRowFormat<TWeights>
    {
        if (typeof(TWeights) == typeof(F32Rows))
            return HostSpan.Of(Unsafe.As<TWeights, F32Rows>(ref weight).Values, (long)row * cols, cols);
        if (rowScratch is null || rowScratch.Length < cols)
            rowScratch = new float[cols];
        weight.WidenRowCpu(row, cols, rowScratch.AsSpan(0, cols));
        return rowScratch.AsSpan(0, cols);
    }

    // Each form below returns how many leading columns it covered (whole chunks; 0 when cols is below one chunk, then
    // the sums are 0) and leaves the rest to the scalar tail above. The four-item forms keep their eight sums in locals (a
    // struct of eight vectors did 11.8 GMAC/s on one thread where locals do 14.5, in a timing test of 1024 × 1024 bf16
    // rows times 64 vectors); per item they do exactly what the one-item forms do.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Four512(ref float w, ref float x0, int stride, int cols, Span<float> sums)
    {
        if (cols < 32)
        {
            sums[..4].Clear();
            return 0;
        }
        ref float x1 = ref Unsafe.Add(ref x0, stride);
        ref float x2 = ref Unsafe.Add(ref x0, 2 * stride);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * stride);
        Vector512<float> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int whole = cols / 32 * 32;
        for (int c = 0; c < whole; c += 32)
        {
            nuint lo = (nuint)c, hi = (nuint)(c + 16);
            var wl = Vector512.LoadUnsafe(ref w, lo);
            var wh = Vector512.LoadUnsafe(ref w, hi);
            l0 = Vector512.MultiplyAddEstimate(wl, Vector512.LoadUnsafe(ref x0, lo), l0);
            h0 = Vector512.MultiplyAddEstimate(wh, Vector512.LoadUnsafe(ref x0, hi), h0);
            l1 = Vector512.MultiplyAddEstimate(wl, Vector512.LoadUnsafe(ref x1, lo), l1);
            h1 = Vector512.MultiplyAddEstimate(wh, Vector512.LoadUnsafe(ref x1, hi), h1);
            l2 = Vector512.MultiplyAddEstimate(wl, Vector512.LoadUnsafe(ref x2, lo), l2);
            h2 = Vector512.MultiplyAddEstimate(wh, Vector512.LoadUnsafe(ref x2, hi), h2);
            l3 = Vector512.MultiplyAddEstimate(wl, Vector512.LoadUnsafe(ref x3, lo), l3);
            h3 = Vector512.MultiplyAddEstimate(wh, Vector512.LoadUnsafe(ref x3, hi), h3);
        }
        sums[0] = Vector512.Sum(l0 + h0);
        sums[1] = Vector512.Sum(l1 + h1);
        sums[2] = Vector512.Sum(l2 + h2);
        sums[3] = Vector512.Sum(l3 + h3);
        return whole;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int One512(ref float w, ref float x, int cols, out float sum)
    {
        sum = 0f;
        if (cols < 32)
            return 0;
        Vector512<float> l = default, h = default;
        int whole = cols / 32 * 32;
        for (int c = 0; c < whole; c += 32)
        {
            nuint lo = (nuint)c, hi = (nuint)(c + 16);
            l = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, lo), Vector512.LoadUnsafe(ref x, lo), l);
            h = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, hi), Vector512.LoadUnsafe(ref x, hi), h);
        }
        sum = Vector512.Sum(l + h);
        return whole;
    }

    /// <summary>For machines whose .NET prefers 256-bit vectors: 16-value chunks in 8-lane halves, as <c>Bf16Dot</c> does there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Four256(ref float w, ref float x0, int stride, int cols, Span<float> sums)
    {
        if (!Vector256.IsHardwareAccelerated || cols < 16)
        {
            sums[..4].Clear();
            return 0;
        }
        ref float x1 = ref Unsafe.Add(ref x0, stride);
        ref float x2 = ref Unsafe.Add(ref x0, 2 * stride);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * stride);
        Vector256<float> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int whole = cols / 16 * 16;
        for (int c = 0; c < whole; c += 16)
        {
            nuint lo = (nuint)c, hi = (nuint)(c + 8);
            var wl = Vector256.LoadUnsafe(ref w, lo);
            var wh = Vector256.LoadUnsafe(ref w, hi);
            l0 = Vector256.MultiplyAddEstimate(wl, Vector256.LoadUnsafe(ref x0, lo), l0);
            h0 = Vector256.MultiplyAddEstimate(wh, Vector256.LoadUnsafe(ref x0, hi), h0);
            l1 = Vector256.MultiplyAddEstimate(wl, Vector256.LoadUnsafe(ref x1, lo), l1);
            h1 = Vector256.MultiplyAddEstimate(wh, Vector256.LoadUnsafe(ref x1, hi), h1);
            l2 = Vector256.MultiplyAddEstimate(wl, Vector256.LoadUnsafe(ref x2, lo), l2);
            h2 = Vector256.MultiplyAddEstimate(wh, Vector256.LoadUnsafe(ref x2, hi), h2);
            l3 = Vector256.MultiplyAddEstimate(wl, Vector256.LoadUnsafe(ref x3, lo), l3);
            h3 = Vector256.MultiplyAddEstimate(wh, Vector256.LoadUnsafe(ref x3, hi), h3);
        }
        sums[0] = Vector256.Sum(l0 + h0);
        sums[1] = Vector256.Sum(l1 + h1);
        sums[2] = Vector256.Sum(l2 + h2);
        sums[3] = Vector256.Sum(l3 + h3);
        return whole;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int One256(ref float w, ref float x, int cols, out float sum)
    {
        sum = 0f;
        if (!Vector256.IsHardwareAccelerated || cols < 16)
            return 0;
        Vector256<float> l = default, h = default;
        int whole = cols / 16 * 16;
        for (int c = 0; c < whole; c += 16)
        {
            nuint lo = (nuint)c, hi = (nuint)(c + 8);
            l = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w, lo), Vector256.LoadUnsafe(ref x, lo), l);
            h = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w, hi), Vector256.LoadUnsafe(ref x, hi), h);
        }
        sum = Vector256.Sum(l + h);
        return whole;
    }
}
