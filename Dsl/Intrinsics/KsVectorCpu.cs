using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// Host bodies of <see cref="KsVector"/> for the generated CPU path: same parameters, views of CPU-accessible memory
/// (ILGPU CPU accelerator buffers), vectorized with <c>TensorPrimitives</c>/<c>Vector256</c>.
/// </summary>
public static class KsVectorCpu
{
    public static float DotCpu(ArrayView<float> a, long aStart, ArrayView<float> b, long bStart, int length)
        => TensorPrimitives.Dot(HostSpan.Of(a, aStart, length), HostSpan.Of(b, bStart, length));

    public static float DotBf16Cpu(ArrayView<ushort> a, long aStart, ArrayView<float> b, long bStart, int length)
        => Bf16Dot.Compute(HostSpan.Of(a, aStart, length), HostSpan.Of(b, bStart, length));

    /// <summary>
    /// sums[r] = <see cref="DotBf16Cpu"/> of row r of the <paramref name="rows"/> consecutive bf16 rows of
    /// <paramref name="length"/> values at <paramref name="aStart"/> with b, each with the same bits as that call.
    /// </summary>
    public static void DotBf16RowsCpu(ArrayView<ushort> a, long aStart, int rows, ArrayView<float> b, long bStart, int length, Span<float> sums)
        => Bf16Dot.ComputeRows(HostSpan.Of(a, aStart, checked(rows * length)), rows, HostSpan.Of(b, bStart, length), sums);

    public static float SumOfSquaresCpu(ArrayView<float> a, long start, int length)
        => TensorPrimitives.SumOfSquares(HostSpan.Of(a, start, length));

    public static float MaxCpu(ArrayView<float> a, long start, int length)
        => length == 0 ? float.NegativeInfinity : TensorPrimitives.Max(HostSpan.Of(a, start, length));

    public static void ScaleCpu(ArrayView<float> src, long srcStart, ArrayView<float> dst, long dstStart, int length, float s)
        => TensorPrimitives.Multiply(HostSpan.Of(src, srcStart, length), s, HostSpan.Of(dst, dstStart, length));

    public static void MultiplyScaleCpu(
        ArrayView<float> a, long aStart, ArrayView<float> w, long wStart, ArrayView<float> dst, long dstStart, int length, float s)
    {
        Span<float> output = HostSpan.Of(dst, dstStart, length);
        TensorPrimitives.Multiply(HostSpan.Of(a, aStart, length), HostSpan.Of(w, wStart, length), output);
        TensorPrimitives.Multiply(output, s, output);
    }

    public static Float4 LoadFloat4Cpu(ArrayView<float> v, long index)
    {
        Span<float> four = HostSpan.Of(v, index, 4);
        return new Float4(four[0], four[1], four[2], four[3]);
    }

    public static void StoreFloat4Cpu(ArrayView<float> v, long index, Float4 value)
    {
        Span<float> four = HostSpan.Of(v, index, 4);
        four[0] = value.X;
        four[1] = value.Y;
        four[2] = value.Z;
        four[3] = value.W;
    }
}

/// <summary>Spans over CPU-accessible ILGPU views, with a bounds check that names the problem.</summary>
public static class HostSpan
{
    public static Span<T> Of<T>(ArrayView<T> view, long start, int length) where T : unmanaged
    {
        if (start < 0 || length < 0 || start + length > view.Length)
            throw new ArgumentOutOfRangeException(
                nameof(start), $"range [{start}, {start + length}) is outside a view of {view.Length} elements");
        if (length == 0)
            return Span<T>.Empty;
        return MemoryMarshal.CreateSpan(ref view[start], length);
    }
}

/// <summary>bf16·float dot product on the host: widen bf16 values to floats (shift into the upper half) and
/// multiply-add in the widest lanes the machine has. Prefill runs 64 such dots per weight row, so this loop is compute
/// bound there: 512-bit lanes and fused multiply-adds where the machine has them (two independent accumulators) match TensorPrimitives' fp32 dot,
/// which the widening would otherwise fall behind.</summary>
internal static class Bf16Dot
{
    /// <summary>
    /// <see cref="Compute"/> for each of <paramref name="rows"/> consecutive rows of <c>b.Length</c> values, two rows
    /// per pass where 512-bit vectors are used: one activation load serves both, and the rows' sum chains overlap (in decode
    /// a call and a reduction per short row cost about as much as its loop; measured in docs/perf/cpu-path.md, fifth pass). Same bits as
    /// <see cref="Compute"/> per row.
    /// </summary>
    public static void ComputeRows(ReadOnlySpan<ushort> a, int rows, ReadOnlySpan<float> b, Span<float> sums)
    {
        int cols = b.Length;
        if ((long)rows * cols > a.Length || sums.Length < rows)
            throw new ArgumentException($"{rows} rows of {cols} values need {(long)rows * cols} bf16 values and {rows} sums", nameof(a));
        int r = 0;
        if (Vector512.IsHardwareAccelerated && cols >= 32 && cols % 32 == 0)
        {
            ref float x = ref MemoryMarshal.GetReference(b);
            for (; r + 2 <= rows; r += 2)
            {
                ref ushort first = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), (nint)r * cols);
                ref ushort second = ref Unsafe.Add(ref first, cols);
                Vector512<float> lowA = default, highA = default, lowB = default, highB = default;
                for (int i = 0; i < cols; i += 32)
                {
                    StreamAhead.Touch(ref first, i);
                    StreamAhead.Touch(ref second, i);
                    var xLow = Vector512.LoadUnsafe(ref x, (nuint)i);
                    var xHigh = Vector512.LoadUnsafe(ref x, (nuint)(i + 16));
                    (Vector512<uint> low, Vector512<uint> high) = Vector512.Widen(Vector512.LoadUnsafe(ref first, (nuint)i));
                    lowA = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(low, 16).AsSingle(), xLow, lowA);
                    highA = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(high, 16).AsSingle(), xHigh, highA);
                    (low, high) = Vector512.Widen(Vector512.LoadUnsafe(ref second, (nuint)i));
                    lowB = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(low, 16).AsSingle(), xLow, lowB);
                    highB = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(high, 16).AsSingle(), xHigh, highB);
                }
                sums[r] = Vector512.Sum(lowA + highA);
                sums[r + 1] = Vector512.Sum(lowB + highB);
            }
        }
        for (; r < rows; r++)
            sums[r] = Compute(a.Slice(r * cols, cols), b);
    }

    public static float Compute(ReadOnlySpan<ushort> a, ReadOnlySpan<float> b)
    {
        if (b.Length < a.Length)
            throw new ArgumentException($"{b.Length} floats cannot pair with {a.Length} bf16 values", nameof(b));
        int i = 0;
        float total = 0f;
        ref ushort aStart = ref MemoryMarshal.GetReference(a);
        ref float bStart = ref MemoryMarshal.GetReference(b);
        if (Vector512.IsHardwareAccelerated && a.Length >= 32)
        {
            var accLow = Vector512<float>.Zero;
            var accHigh = Vector512<float>.Zero;
            for (; i + 32 <= a.Length; i += 32)
            {
                StreamAhead.Touch(ref aStart, i);
                var packed = Vector512.LoadUnsafe(ref aStart, (nuint)i);
                (Vector512<uint> low, Vector512<uint> high) = Vector512.Widen(packed);
                accLow = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(low, 16).AsSingle(), Vector512.LoadUnsafe(ref bStart, (nuint)i), accLow);
                accHigh = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(high, 16).AsSingle(), Vector512.LoadUnsafe(ref bStart, (nuint)(i + 16)), accHigh);
            }
            total = Vector512.Sum(accLow + accHigh);
        }
        else if (Vector256.IsHardwareAccelerated && a.Length >= 16)
        {
            var accLow = Vector256<float>.Zero;
            var accHigh = Vector256<float>.Zero;
            for (; i + 16 <= a.Length; i += 16)
            {
                if ((i & 31) == 0)
                    StreamAhead.Touch(ref aStart, i);
                var packed = Vector256.LoadUnsafe(ref aStart, (nuint)i);
                (Vector256<uint> low, Vector256<uint> high) = Vector256.Widen(packed);
                accLow = Vector256.MultiplyAddEstimate(Vector256.ShiftLeft(low, 16).AsSingle(), Vector256.LoadUnsafe(ref bStart, (nuint)i), accLow);
                accHigh = Vector256.MultiplyAddEstimate(Vector256.ShiftLeft(high, 16).AsSingle(), Vector256.LoadUnsafe(ref bStart, (nuint)(i + 8)), accHigh);
            }
            total = Vector256.Sum(accLow + accHigh);
        }
        for (; i < a.Length; i++)
            total += Bf16.ToFloat(a[i]) * b[i];
        return total;
    }
}
