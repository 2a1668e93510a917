using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
static class Direct
{
    public static float Dot(ReadOnlySpan<ushort> a, ReadOnlySpan<float> b)
    {
        int i = 0;
        ref ushort aStart = ref MemoryMarshal.GetReference(a);
        ref float bStart = ref MemoryMarshal.GetReference(b);
        var accLow = Vector512<float>.Zero; var accHigh = Vector512<float>.Zero;
        for (; i + 32 <= a.Length; i += 32)
        {
            var packed = Vector512.LoadUnsafe(ref aStart, (nuint)i);
            (Vector512<uint> low, Vector512<uint> high) = Vector512.Widen(packed);
            accLow = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(low, 16).AsSingle(), Vector512.LoadUnsafe(ref bStart, (nuint)i), accLow);
            accHigh = Vector512.MultiplyAddEstimate(Vector512.ShiftLeft(high, 16).AsSingle(), Vector512.LoadUnsafe(ref bStart, (nuint)(i + 16)), accHigh);
        }
        return Vector512.Sum(accLow + accHigh);
    }
}
