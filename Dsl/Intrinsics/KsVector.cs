using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// Per-thread span intrinsics: one thread walks a contiguous run of elements. The bodies below are the kernel
/// (GPU) versions: plain loops that walk the run with 16-byte accesses between a scalar head (up to the first 16-byte
/// boundary) and a scalar tail, when all operands reach that boundary at the same element. The generated CPU path
/// calls the <c>...Cpu</c> twins in <see cref="KsVectorCpu"/>, which use <c>TensorPrimitives</c>.
/// Ranges are element offsets into the views; the caller keeps them in bounds (as with any view access in a kernel).
/// </summary>
public static class KsVector
{
    /// <summary>
    /// True when element <paramref name="index"/> of <paramref name="view"/> sits on a 16-byte boundary, so 16-byte
    /// vector accesses may start there. Works inside kernels on every backend and on the host.
    /// </summary>
    public static bool IsAligned16<T>(ArrayView<T> view, long index) where T : unmanaged
        => index < view.Length && VectorAccess.IsAligned16(view, index);

    /// <summary>Σ a[aStart+i]·b[bStart+i] for i &lt; length.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.DotCpu))]
    public static float Dot(ArrayView<float> a, long aStart, ArrayView<float> b, long bStart, int length)
    {
        float total = 0f;
        int done = 0;
        int head = VectorAccess.UnalignedHead(a, aStart, length);
        if (length - head >= 4 && head == VectorAccess.UnalignedHead(b, bStart, length))
        {
            for (; done < head; done++)
                total += a[aStart + done] * b[bStart + done];
            int quads = (length - head) / 4;
            var a4 = VectorAccess.AsFloat4(a, aStart + head, quads); // [quads] of 4 floats
            var b4 = VectorAccess.AsFloat4(b, bStart + head, quads); // [quads] of 4 floats
            // Four quads per trip, all eight loads issued before the first product: ILGPU does not unroll, and a
            // dot product that waits for each load before issuing the next is latency-bound (measured on the H200:
            // one 576-long dot per thread took ~30 µs per sparse-attention key tile).
            int q = 0;
            for (; q + 4 <= quads; q += 4)
            {
                // Whole-struct loads into locals and a static Dot: one ld.v4 per operand.
                Float4 x0 = a4[q];
                Float4 x1 = a4[q + 1];
                Float4 x2 = a4[q + 2];
                Float4 x3 = a4[q + 3];
                Float4 y0 = b4[q];
                Float4 y1 = b4[q + 1];
                Float4 y2 = b4[q + 2];
                Float4 y3 = b4[q + 3];
                total += (Float4.Dot(x0, y0) + Float4.Dot(x1, y1)) + (Float4.Dot(x2, y2) + Float4.Dot(x3, y3));
            }
            for (; q < quads; q++)
            {
                Float4 x = a4[q];
                Float4 y = b4[q];
                total += Float4.Dot(x, y);
            }
            done += quads * 4;
        }
        for (; done < length; done++)
            total += a[aStart + done] * b[bStart + done];
        return total;
    }

    /// <summary>Σ bf16(a[aStart+i])·b[bStart+i] for i &lt; length: a bf16 weight row against float activations.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.DotBf16Cpu))]
    public static float DotBf16(ArrayView<ushort> a, long aStart, ArrayView<float> b, long bStart, int length)
    {
        float total = 0f;
        int done = 0;
        int head = VectorAccess.UnalignedHead(a, aStart, length);
        if (length - head >= 8 && head == VectorAccess.UnalignedHead(b, bStart, length))
        {
            for (; done < head; done++)
                total += Bf16.ToFloat(a[aStart + done]) * b[bStart + done];
            int octets = (length - head) / 8;
            var a8 = VectorAccess.AsUInt4(a, aStart + head, octets);      // [octets] of 8 bf16 (two per uint)
            var b4 = VectorAccess.AsFloat4(b, bStart + head, octets * 2); // [2·octets] of 4 floats
            for (int o = 0; o < octets; o++)
            {
                UInt4 packed = a8[o];
                Float4 low = b4[2 * o];
                Float4 high = b4[2 * o + 1];
                total += Bf16Pair.Low(packed.X) * low.X + Bf16Pair.High(packed.X) * low.Y
                       + Bf16Pair.Low(packed.Y) * low.Z + Bf16Pair.High(packed.Y) * low.W
                       + Bf16Pair.Low(packed.Z) * high.X + Bf16Pair.High(packed.Z) * high.Y
                       + Bf16Pair.Low(packed.W) * high.Z + Bf16Pair.High(packed.W) * high.W;
            }
            done += octets * 8;
        }
        for (; done < length; done++)
            total += Bf16.ToFloat(a[aStart + done]) * b[bStart + done];
        return total;
    }

    /// <summary>Σ a[start+i]² for i &lt; length.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.SumOfSquaresCpu))]
    public static float SumOfSquares(ArrayView<float> a, long start, int length)
    {
        float total = 0f;
        int done = 0;
        int head = VectorAccess.UnalignedHead(a, start, length);
        if (length - head >= 4)
        {
            for (; done < head; done++)
                total += a[start + done] * a[start + done];
            int quads = (length - head) / 4;
            var a4 = VectorAccess.AsFloat4(a, start + head, quads); // [quads] of 4 floats
            for (int q = 0; q < quads; q++)
            {
                Float4 x = a4[q];
                total += Float4.Dot(x, x);
            }
            done += quads * 4;
        }
        for (; done < length; done++)
            total += a[start + done] * a[start + done];
        return total;
    }

    /// <summary>max a[start+i] for i &lt; length; −∞ when length is 0.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.MaxCpu))]
    public static float Max(ArrayView<float> a, long start, int length)
    {
        float best = float.NegativeInfinity;
        int done = 0;
        int head = VectorAccess.UnalignedHead(a, start, length);
        if (length - head >= 4)
        {
            for (; done < head; done++)
                best = MathF.Max(best, a[start + done]);
            int quads = (length - head) / 4;
            var a4 = VectorAccess.AsFloat4(a, start + head, quads); // [quads] of 4 floats
            for (int q = 0; q < quads; q++)
            {
                Float4 v = a4[q];
                best = MathF.Max(best, MathF.Max(MathF.Max(v.X, v.Y), MathF.Max(v.Z, v.W)));
            }
            done += quads * 4;
        }
        for (; done < length; done++)
            best = MathF.Max(best, a[start + done]);
        return best;
    }

    /// <summary>dst[dstStart+i] = src[srcStart+i]·s for i &lt; length.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.ScaleCpu))]
    public static void Scale(ArrayView<float> src, long srcStart, ArrayView<float> dst, long dstStart, int length, float s)
    {
        int done = 0;
        int head = VectorAccess.UnalignedHead(src, srcStart, length);
        if (length - head >= 4 && head == VectorAccess.UnalignedHead(dst, dstStart, length))
        {
            for (; done < head; done++)
                dst[dstStart + done] = src[srcStart + done] * s;
            int quads = (length - head) / 4;
            var src4 = VectorAccess.AsFloat4(src, srcStart + head, quads); // [quads] of 4 floats
            var dst4 = VectorAccess.AsFloat4(dst, dstStart + head, quads); // [quads] of 4 floats
            for (int q = 0; q < quads; q++)
            {
                Float4 v = src4[q];
                dst4[q] = new Float4(v.X * s, v.Y * s, v.Z * s, v.W * s);
            }
            done += quads * 4;
        }
        for (; done < length; done++)
            dst[dstStart + done] = src[srcStart + done] * s;
    }

    /// <summary>dst[dstStart+i] = (a[aStart+i]·w[wStart+i])·s for i &lt; length (RMSNorm's output step).</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.MultiplyScaleCpu))]
    public static void MultiplyScale(
        ArrayView<float> a, long aStart, ArrayView<float> w, long wStart, ArrayView<float> dst, long dstStart, int length, float s)
    {
        int done = 0;
        int head = VectorAccess.UnalignedHead(a, aStart, length);
        if (length - head >= 4 && head == VectorAccess.UnalignedHead(w, wStart, length)
            && head == VectorAccess.UnalignedHead(dst, dstStart, length))
        {
            for (; done < head; done++)
                dst[dstStart + done] = a[aStart + done] * w[wStart + done] * s;
            int quads = (length - head) / 4;
            var a4 = VectorAccess.AsFloat4(a, aStart + head, quads);       // [quads] of 4 floats
            var w4 = VectorAccess.AsFloat4(w, wStart + head, quads);       // [quads] of 4 floats
            var dst4 = VectorAccess.AsFloat4(dst, dstStart + head, quads); // [quads] of 4 floats
            for (int q = 0; q < quads; q++)
            {
                Float4 x = a4[q];
                Float4 g = w4[q];
                dst4[q] = new Float4(x.X * g.X * s, x.Y * g.Y * s, x.Z * g.Z * s, x.W * g.W * s);
            }
            done += quads * 4;
        }
        for (; done < length; done++)
            dst[dstStart + done] = a[aStart + done] * w[wStart + done] * s;
    }

    /// <summary>v[index..index+3] as one 16-byte load. The element must sit on a 16-byte boundary (index a multiple
    /// of 4 in a view of a whole allocation), otherwise the GPU faults on a misaligned access.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.LoadFloat4Cpu))]
    public static Float4 LoadFloat4(ArrayView<float> v, long index) => VectorAccess.AsFloat4(v, index, 1)[0];

    /// <summary>Writes v[index..index+3] as one 16-byte store; same alignment rule as <see cref="LoadFloat4"/>.</summary>
    [Intrinsic(CpuBody = nameof(KsVectorCpu.StoreFloat4Cpu))]
    public static void StoreFloat4(ArrayView<float> v, long index, Float4 value) => VectorAccess.AsFloat4(v, index, 1)[0] = value;
}
