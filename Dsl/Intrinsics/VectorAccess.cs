using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Dsl;

/// <summary>Four uints moved as one 16-byte access (eight packed bf16 values); only ever read from views.</summary>
internal readonly struct UInt4
{
    public readonly uint X;
    public readonly uint Y;
    public readonly uint Z;
    public readonly uint W;

    public UInt4(uint x, uint y, uint z, uint w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }
}

/// <summary>Reinterprets runs of a view as 16-byte elements, so ILGPU emits vector loads/stores (<c>ld.v4</c>);
/// <c>AsAligned(16)</c> tells ILGPU's vectorizer what the caller checked with <see cref="UnalignedHead"/>.</summary>
internal static class VectorAccess
{
    /// <summary>
    /// How many elements from <paramref name="start"/> come before the first 16-byte boundary (0..15/sizeof(T)),
    /// from the actual address (ILGPU's <c>AlignTo</c>), so sub-views at any offset are handled. Two runs can be
    /// walked with 16-byte accesses together when their heads are equal.
    /// </summary>
    public static int UnalignedHead<T>(ArrayView<T> view, long start, int length) where T : unmanaged
        => (int)view.SubView(start, length).AlignTo(Sixteen(view)).Prefix.Length;

    /// <summary>True when element <paramref name="index"/> (inside the view) starts on a 16-byte boundary.</summary>
    public static bool IsAligned16<T>(ArrayView<T> view, long index) where T : unmanaged
        => view.SubView(index, 1).AlignTo(Sixteen(view)).Prefix.Length == 0;

    /// <summary>
    /// 16, as a value ILGPU cannot fold. With a literal 16, ILGPU 1.5.3's PTX for <c>AlignTo</c> contains an untyped
    /// predicated <c>mov %rd, 16;</c> that ptxas rejects ("Unexpected instruction types specified for 'mov'", seen on the
    /// H200): the kernel then fails to load with "a PTX JIT compilation failed". A view is never 2^62 elements long, so
    /// the shifted length is 0 at run time.
    /// </summary>
    private static int Sixteen<T>(ArrayView<T> view) where T : unmanaged => 16 | (int)(view.Length >> 62);

    /// <summary>Floats [start, start + 4·count) as <paramref name="count"/> Float4 values.</summary>
    public static ArrayView<Float4> AsFloat4(ArrayView<float> view, long start, int count)
        => view.SubView(start, 4L * count).AsAligned(16).Cast<Float4>();

    /// <summary>bf16 values [start, start + 8·count) as <paramref name="count"/> UInt4 values.</summary>
    public static ArrayView<UInt4> AsUInt4(ArrayView<ushort> view, long start, int count)
        => view.SubView(start, 8L * count).AsAligned(16).Cast<UInt4>();
}

/// <summary>Unpacks the two little-endian bf16 values of a 32-bit word.</summary>
internal static class Bf16Pair
{
    public static float Low(uint word) => Interop.IntAsFloat(word << 16);

    public static float High(uint word) => Interop.IntAsFloat(word & 0xFFFF_0000u);
}
