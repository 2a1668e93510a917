using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>bf16 and FP8 e4m3 encodings against their definitions.</summary>
public sealed class StorageFormatsTests
{
    [Theory]
    [InlineData((byte)0x00, 0f)]
    [InlineData((byte)0x38, 1f)]
    [InlineData((byte)0x7E, 448f)]
    [InlineData((byte)0xFE, -448f)]
    [InlineData((byte)0x01, 0.001953125f)]   // smallest subnormal 2^-9
    [InlineData((byte)0x08, 0.015625f)]      // smallest normal 2^-6
    [InlineData((byte)0x3C, 1.5f)]
    public void Fp8_codes_decode_to_their_values(byte code, float value) =>
        Assert.Equal(value, StorageFormats.Fp8E4M3ToFloat(code));

    [Fact]
    public void Fp8_nan_codes_and_encoding_of_special_values()
    {
        Assert.True(float.IsNaN(StorageFormats.Fp8E4M3ToFloat(0x7F)));
        Assert.True(float.IsNaN(StorageFormats.Fp8E4M3ToFloat(0xFF)));
        Assert.Equal(0x7F, StorageFormats.FloatToFp8E4M3(BitConverter.UInt32BitsToSingle(0x7FC00000)));
        Assert.Equal(0xFF, StorageFormats.FloatToFp8E4M3(BitConverter.UInt32BitsToSingle(0xFFC00000)));
        Assert.Equal(0x7E, StorageFormats.FloatToFp8E4M3(1e9f));
        Assert.Equal(0x7E, StorageFormats.FloatToFp8E4M3(float.PositiveInfinity));
        Assert.Equal(0xFE, StorageFormats.FloatToFp8E4M3(-500f));
        Assert.Equal(0x80, StorageFormats.FloatToFp8E4M3(-0f));
    }

    [Fact]
    public void Every_finite_fp8_code_round_trips()
    {
        for (int code = 0; code < 256; code++)
        {
            float value = StorageFormats.Fp8E4M3ToFloat((byte)code);
            if (!float.IsNaN(value))
            {
                Assert.Equal(value, StorageFormats.Fp8E4M3ToFloat(StorageFormats.FloatToFp8E4M3(value)));
            }
        }
    }

    [Fact]
    public void Fp8_encoding_picks_the_nearest_code_with_ties_to_even()
    {
        var finite = Enumerable.Range(0, 256).Select(c => (Code: (byte)c, Value: StorageFormats.Fp8E4M3ToFloat((byte)c)))
            .Where(p => !float.IsNaN(p.Value)).ToList();
        var random = new Random(11);
        for (int i = 0; i < 20000; i++)
        {
            float x = (float)((random.NextDouble() * 2 - 1) * Math.Pow(2, random.Next(-12, 10)));
            byte code = StorageFormats.FloatToFp8E4M3(x);
            float got = StorageFormats.Fp8E4M3ToFloat(code);
            float clamped = Math.Clamp(x, -448f, 448f);
            float best = finite.Min(p => Math.Abs(p.Value - clamped));
            Assert.Equal(best, Math.Abs(got - clamped));
        }

        // 1.0625 is halfway between 1.0 (0x38, even) and 1.125 (0x39): ties go to the even code.
        Assert.Equal(0x38, StorageFormats.FloatToFp8E4M3(1.0625f));
        Assert.Equal(0x3A, StorageFormats.FloatToFp8E4M3(1.1875f));
    }

    /// <summary>The kernels decode and encode with integer tricks (KernelSharp.Dsl); they must agree bit for bit with these.</summary>
    [Fact]
    public void Kernel_intrinsics_agree_with_the_checkpoint_conversions()
    {
        for (int code = 0; code < 256; code++)
        {
            Assert.Equal(
                BitConverter.SingleToUInt32Bits(StorageFormats.Fp8E4M3ToFloat((byte)code)) & (float.IsNaN(StorageFormats.Fp8E4M3ToFloat((byte)code)) ? 0x80000000u : ~0u),
                BitConverter.SingleToUInt32Bits(Dsl.Fp8E4M3.ToFloat((byte)code)) & (float.IsNaN(Dsl.Fp8E4M3.ToFloat((byte)code)) ? 0x80000000u : ~0u));
        }

        var random = new Random(13);
        for (int i = 0; i < 50000; i++)
        {
            // Random bit patterns cover every exponent, subnormals, infinities and NaNs.
            float x = BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32));
            Assert.Equal(StorageFormats.FloatToFp8E4M3(x), Dsl.Fp8E4M3.FromFloat(x));
            Assert.Equal(StorageFormats.FloatToBf16(x) | (float.IsNaN(x) ? 0x0040 : 0), Dsl.Bf16.FromFloat(x) | (float.IsNaN(x) ? 0x0040 : 0));
            ushort bf16 = (ushort)random.Next(65536);
            Assert.Equal(BitConverter.SingleToUInt32Bits(StorageFormats.Bf16ToFloat(bf16)), BitConverter.SingleToUInt32Bits(Dsl.Bf16.ToFloat(bf16)));
        }
    }

    [Fact]
    public void Bf16_rounds_to_nearest_even_and_keeps_nan()
    {
        Assert.Equal(0x3F80, StorageFormats.FloatToBf16(1f));
        Assert.Equal(0x3F80, StorageFormats.FloatToBf16(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie → even
        Assert.Equal(0x3F82, StorageFormats.FloatToBf16(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.Equal(0x3F81, StorageFormats.FloatToBf16(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(StorageFormats.Bf16ToFloat(StorageFormats.FloatToBf16(float.NaN))));
        Assert.Equal(float.PositiveInfinity, StorageFormats.Bf16ToFloat(StorageFormats.FloatToBf16(float.MaxValue)));
        var random = new Random(5);
        for (int i = 0; i < 10000; i++)
        {
            float x = (float)(random.NextDouble() * 200 - 100);
            float rounded = StorageFormats.Bf16ToFloat(StorageFormats.FloatToBf16(x));
            Assert.True(Math.Abs(rounded - x) <= Math.Abs(x) / 256, $"{x} → {rounded}");
        }
    }
}
