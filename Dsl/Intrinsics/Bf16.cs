using ILGPU;
using ILGPU.IR.Intrinsics;

namespace KernelSharp.Dsl;

/// <summary>
/// bfloat16 ↔ float conversion on raw bits (bf16 is the upper half of an IEEE float32). Kernels store bf16 tensors
/// as <c>ArrayView&lt;ushort&gt;</c>; these methods run unchanged inside ILGPU kernels (integer ops only) and on the host.
/// </summary>
public static class Bf16
{
    /// <summary>Widens exactly: the 16 bits become the upper half of the float.</summary>
    public static float ToFloat(ushort bits) => Interop.IntAsFloat((uint)bits << 16);

    /// <summary>
    /// Rounds to the nearest bf16, ties to even (what PyTorch's <c>.to(torch.bfloat16)</c> does). Infinities stay
    /// infinite, large finite values round up to infinity, and NaN stays NaN (its payload is forced quiet so the
    /// truncated mantissa never becomes zero, which would turn it into an infinity).
    /// </summary>
    public static ushort FromFloat(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u)
            return (ushort)((bits >> 16) | 0x0040u);

        // Adding 0x7FFF plus the lowest kept bit rounds the dropped 16 bits to nearest, ties to even.
        uint lowestKeptBit = (bits >> 16) & 1u;
        return (ushort)((bits + 0x7FFFu + lowestKeptBit) >> 16);
    }

    /// <summary>
    /// Rounds two floats to bf16 as <see cref="FromFloat"/> does (nearest, ties to even; NaN stays NaN, its payload
    /// not kept) and packs them in one word, <paramref name="low"/> in bits 0-15. On CUDA this is one
    /// <c>cvt.rn.bf16x2.f32</c> (registered by <see cref="KernelSharpIntrinsics.Register"/>) where the integer form
    /// takes about ten instructions a pair: kernels that convert whole tiles (FP8 weights landed as bf16) are bound by
    /// those instructions. Elsewhere (OpenCL, ILGPU's CPU accelerator, the generated CPU path, the host) the C# body runs.
    /// </summary>
    [IntrinsicImplementation]
    public static uint RoundPair(float low, float high) => RoundPairPortable(low, high);

    /// <summary>The integer form of <see cref="RoundPair"/>: what every backend but CUDA runs.</summary>
    internal static uint RoundPairPortable(float low, float high) => FromFloat(low) | ((uint)FromFloat(high) << 16);
}
