using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// Butterfly reductions over a native 32-lane warp with <c>Warp.ShuffleXor</c>: after the 5 exchange steps every lane
/// holds the full result, so no broadcast is needed. Written out step by step because ILGPU 1.5.3 does not unroll loops.
/// </summary>
internal static class WarpButterfly
{
    public static float Sum(float value)
    {
        value += Warp.ShuffleXor(value, 16);
        value += Warp.ShuffleXor(value, 8);
        value += Warp.ShuffleXor(value, 4);
        value += Warp.ShuffleXor(value, 2);
        value += Warp.ShuffleXor(value, 1);
        return value;
    }

    public static float Max(float value)
    {
        value = MathF.Max(value, Warp.ShuffleXor(value, 16));
        value = MathF.Max(value, Warp.ShuffleXor(value, 8));
        value = MathF.Max(value, Warp.ShuffleXor(value, 4));
        value = MathF.Max(value, Warp.ShuffleXor(value, 2));
        value = MathF.Max(value, Warp.ShuffleXor(value, 1));
        return value;
    }
}
