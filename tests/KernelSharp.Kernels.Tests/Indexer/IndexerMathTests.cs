using KernelSharp.Dsl;
using KernelSharp.Kernels.Indexer;
using Xunit;

namespace KernelSharp.Kernels.Tests.Indexer;

/// <summary>The per-thread helpers of the tensor-core indexer decode, checked exhaustively on the host.</summary>
public sealed class IndexerMathTests
{
    [Fact]
    public void Fp8_pairs_widen_to_the_bf16_of_their_exact_values_for_every_byte()
    {
        for (int low = 0; low < 256; low++)
        {
            for (int high = 0; high < 256; high += 17)
            {
                uint word = (uint)low | ((uint)high << 8) | ((uint)high << 16) | ((uint)low << 24);
                uint expectedLowPair = Bf16.FromFloat(Fp8E4M3.ToFloat((byte)low)) | ((uint)Bf16.FromFloat(Fp8E4M3.ToFloat((byte)high)) << 16);
                uint expectedHighPair = Bf16.FromFloat(Fp8E4M3.ToFloat((byte)high)) | ((uint)Bf16.FromFloat(Fp8E4M3.ToFloat((byte)low)) << 16);
                Assert.Equal(expectedLowPair, IndexerMath.Fp8PairToBf16(word, 0));
                Assert.Equal(expectedHighPair, IndexerMath.Fp8PairToBf16(word, 16));
            }
        }
    }

    [Fact]
    public void Packed_bf16_pairs_round_each_value_to_nearest_even()
    {
        var random = new Random(5);
        for (int i = 0; i < 1000; i++)
        {
            float first = (float)(random.NextDouble() * 200 - 100);
            float second = (float)(random.NextDouble() * 2e-3 - 1e-3);
            uint packed = IndexerMath.PackBf16(first, second);
            Assert.Equal(Bf16.FromFloat(first), (ushort)packed);
            Assert.Equal(Bf16.FromFloat(second), (ushort)(packed >> 16));
        }
    }
}
