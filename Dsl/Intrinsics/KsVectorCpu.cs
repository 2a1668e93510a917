using System.Numerics.Tensors;
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

/// <summary>bf16·float dot product on the host: widen 16 bf16 values at a time to floats (shift into the upper
/// half) and multiply-add in 256-bit lanes.</summary>
internal static class Bf16Dot
{
    public static float Compute(ReadOnlySpan<ushort> a, ReadOnlySpan<float> b)
    {
        int i = 0;
        float total = 0f;
        if (Vector256.IsHardwareAccelerated && a.Length >= 16)
        {
            var accLow = Vector256<float>.Zero;
            var accHigh = Vector256<float>.Zero;
            for (; i + 16 <= a.Length; i += 16)
            {
                var packed = Vector256.Create(a.Slice(i, 16));
                (Vector256<uint> low, Vector256<uint> high) = Vector256.Widen(packed);
                accLow += Vector256.ShiftLeft(low, 16).AsSingle() * Vector256.Create(b.Slice(i, 8));
                accHigh += Vector256.ShiftLeft(high, 16).AsSingle() * Vector256.Create(b.Slice(i + 8, 8));
            }
            total = Vector256.Sum(accLow + accHigh);
        }
        for (; i < a.Length; i++)
            total += Bf16.ToFloat(a[i]) * b[i];
        return total;
    }
}
