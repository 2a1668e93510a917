using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>Host body of <see cref="GemvHost.RowItems{TWeights}"/> (never compiled for a GPU).</summary>
/// <remarks>
/// The CPU form of the GEMV used to be one dot product per (row, item) group: a prefill of 64 tokens read and widened
/// every bf16 weight row 64 times, and an expert's GEMV over its 8 tokens 8 times. Here one call takes a row and up to
/// four items: each 32-value chunk of the row is loaded and widened once and multiplied into the four items' sums.
/// <para>
/// Batch invariance: an item's sum is the same operations in the same order whatever the batch and whichever items
/// share its block: per 32 values, a low and a high 16-lane fused multiply-add, then the two 16-lane sums added and
/// reduced, then the columns past the last whole 32 one by one. For bf16 this is exactly <c>Bf16Dot.Compute</c>, the
/// single-item dot product it replaces. Rows of other formats are widened to fp32 first (exactly, or with their block
/// scale applied per value).
/// </para>
/// </remarks>
public static class GemvHostCpu
{
    private const int Chunk = 32; // values per step: two 16-lane halves

    [ThreadStatic]
    private static float[]? rowScratch; // [cols]: a row of another format widened to fp32, per host thread

    public static bool RowItemsCpu<TWeights>(TWeights weight, ArrayView<float> input, ArrayView<float> output, int row, int item,
        int rows, int cols, int batch)
        where TWeights : struct, IRowFormat<TWeights>
    {
        if (item % GemvHost.ItemBlock != 0)
            return true; // the block's first item's group writes this item
        int items = Math.Min(GemvHost.ItemBlock, batch - item);
        ReadOnlySpan<float> x = HostSpan.Of(input, (long)item * cols, items * cols); // [items, cols]
        Span<float> sums = stackalloc float[GemvHost.ItemBlock];
        if (typeof(TWeights) == typeof(Bf16Rows))
        {
            var bits = HostSpan.Of(Unsafe.As<TWeights, Bf16Rows>(ref weight).Bits, (long)row * cols, cols);
            Bf16RowItems(bits, x, items, cols, sums);
        }
        else
        {
            ReadOnlySpan<float> values;
            if (typeof(TWeights) == typeof(F32Rows))
            {
                values = HostSpan.Of(Unsafe.As<TWeights, F32Rows>(ref weight).Values, (long)row * cols, cols);
            }
            else
            {
                if (rowScratch is null || rowScratch.Length < cols)
                    rowScratch = new float[cols];
                GemmTilesCpu.Widen(weight, row, cols, rowScratch.AsSpan(0, cols));
                values = rowScratch.AsSpan(0, cols);
            }
            F32RowItems(values, x, items, cols, sums);
        }
        for (int i = 0; i < items; i++)
            output[(long)(item + i) * rows + row] = sums[i];
        return true;
    }

    /// <summary>sums[i] = bf16 row · x[i] for <paramref name="items"/> ≤ 4 items.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from its first call: tier 0 would spill the sums
    private static void Bf16RowItems(ReadOnlySpan<ushort> row, ReadOnlySpan<float> x, int items, int cols, Span<float> sums)
    {
        ref ushort w = ref MemoryMarshal.GetReference(row);
        int whole = Vector512.IsHardwareAccelerated && cols >= Chunk ? cols / Chunk * Chunk : 0;
        if (whole > 0)
        {
            Accumulators acc = default;
            for (int c = 0; c < whole; c += Chunk)
            {
                (Vector512<uint> low, Vector512<uint> high) = Vector512.Widen(Vector512.LoadUnsafe(ref w, (nuint)c));
                acc.Add(Vector512.ShiftLeft(low, 16).AsSingle(), Vector512.ShiftLeft(high, 16).AsSingle(), x, cols, c, items);
            }
            acc.Reduce(sums, items);
        }
        else
        {
            sums[..items].Clear();
        }
        for (int i = 0; i < items; i++)
        {
            ReadOnlySpan<float> xi = x.Slice(i * cols, cols);
            float total = sums[i];
            for (int c = whole; c < cols; c++)
                total += Bf16.ToFloat(row[c]) * xi[c];
            sums[i] = total;
        }
    }

    /// <summary>sums[i] = fp32 row · x[i] for <paramref name="items"/> ≤ 4 items.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void F32RowItems(ReadOnlySpan<float> row, ReadOnlySpan<float> x, int items, int cols, Span<float> sums)
    {
        ref float w = ref MemoryMarshal.GetReference(row);
        int whole = Vector512.IsHardwareAccelerated && cols >= Chunk ? cols / Chunk * Chunk : 0;
        if (whole > 0)
        {
            Accumulators acc = default;
            for (int c = 0; c < whole; c += Chunk)
                acc.Add(Vector512.LoadUnsafe(ref w, (nuint)c), Vector512.LoadUnsafe(ref w, (nuint)(c + 16)), x, cols, c, items);
            acc.Reduce(sums, items);
        }
        else
        {
            sums[..items].Clear();
        }
        for (int i = 0; i < items; i++)
        {
            ReadOnlySpan<float> xi = x.Slice(i * cols, cols);
            float total = sums[i];
            for (int c = whole; c < cols; c++)
                total += row[c] * xi[c];
            sums[i] = total;
        }
    }

    /// <summary>A low and a high 16-lane sum for each of up to four items.</summary>
    private struct Accumulators
    {
        private Vector512<float> low0, high0, low1, high1, low2, high2, low3, high3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector512<float> wLow, Vector512<float> wHigh, ReadOnlySpan<float> x, int cols, int c, int items)
        {
            ref float x0 = ref MemoryMarshal.GetReference(x);
            low0 = Vector512.MultiplyAddEstimate(wLow, Vector512.LoadUnsafe(ref x0, (nuint)c), low0);
            high0 = Vector512.MultiplyAddEstimate(wHigh, Vector512.LoadUnsafe(ref x0, (nuint)(c + 16)), high0);
            if (items < 2)
                return;
            ref float x1 = ref Unsafe.Add(ref x0, cols);
            low1 = Vector512.MultiplyAddEstimate(wLow, Vector512.LoadUnsafe(ref x1, (nuint)c), low1);
            high1 = Vector512.MultiplyAddEstimate(wHigh, Vector512.LoadUnsafe(ref x1, (nuint)(c + 16)), high1);
            if (items < 3)
                return;
            ref float x2 = ref Unsafe.Add(ref x0, 2 * cols);
            low2 = Vector512.MultiplyAddEstimate(wLow, Vector512.LoadUnsafe(ref x2, (nuint)c), low2);
            high2 = Vector512.MultiplyAddEstimate(wHigh, Vector512.LoadUnsafe(ref x2, (nuint)(c + 16)), high2);
            if (items < 4)
                return;
            ref float x3 = ref Unsafe.Add(ref x0, 3 * cols);
            low3 = Vector512.MultiplyAddEstimate(wLow, Vector512.LoadUnsafe(ref x3, (nuint)c), low3);
            high3 = Vector512.MultiplyAddEstimate(wHigh, Vector512.LoadUnsafe(ref x3, (nuint)(c + 16)), high3);
        }

        public readonly void Reduce(Span<float> sums, int items)
        {
            sums[0] = Vector512.Sum(low0 + high0);
            if (items > 1)
                sums[1] = Vector512.Sum(low1 + high1);
            if (items > 2)
                sums[2] = Vector512.Sum(low2 + high2);
            if (items > 3)
                sums[3] = Vector512.Sum(low3 + high3);
        }
    }
}
