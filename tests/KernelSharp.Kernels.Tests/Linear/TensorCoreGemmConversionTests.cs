using KernelSharp.Kernels.Linear;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// The tensor-core GEMM's branch-free fp8 → bf16 conversion (magnitude bits shifted into a float, times 2^120 and the
/// block scale, rounded to nearest even) against exact e4m3 decoding rounded by <c>Bf16.FromFloat</c>, for every
/// non-NaN code including subnormals and both signs.
/// </summary>
public sealed class TensorCoreGemmConversionTests
{
    [Fact]
    public void Scaled_fp8_conversion_matches_exact_decoding_rounded_to_bf16()
    {
        var random = new Random(4242);
        for (int bits = 0; bits < 256; bits++)
        {
            if ((bits & 0x7F) == 0x7F)
                continue; // NaN codes: not in checkpoints, documented as unsupported by the fast conversion
            float scale = (float)(random.NextDouble() * 0.01 + 1e-4);
            float exact = (float)(LinearWeightsReference.DecodeFp8E4M3((byte)bits) * scale);
            ushort expected = KernelSharp.Dsl.Bf16.FromFloat(exact);
            Assert.Equal(expected, (ushort)TensorCoreGemmTiles.ScaledBf16((uint)bits, scale));
        }
    }
}
