namespace KernelSharp.Dsl.Tests;

public class Bf16Tests
{
    /// <summary>Reference: round the float64 value of the input to 8 significant bits, ties to even, by exhaustive
    /// search between the two neighbouring bf16 values (obviously correct, independent of the bit trick).</summary>
    private static ushort ReferenceFromFloat(float value)
    {
        if (float.IsNaN(value))
            return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        ushort down = (ushort)(bits >> 16);               // truncation toward zero
        ushort up = (ushort)(down + 1);                   // next magnitude away from zero
        double exact = value;
        double distanceDown = Math.Abs(exact - Bf16.ToFloat(down));
        double distanceUp = Math.Abs(Bf16.ToFloat(up) - exact);
        if ((bits & 0xFFFF) == 0 || distanceDown < distanceUp)
            return down;
        if (distanceUp < distanceDown)
            return up;
        return (down & 1) == 0 ? down : up;
    }

    [Fact]
    public void EveryBf16RoundTripsExactly()
    {
        for (int bits = 0; bits <= 0xFFFF; bits++)
        {
            float value = Bf16.ToFloat((ushort)bits);
            if (float.IsNaN(value))
                Assert.True(float.IsNaN(Bf16.ToFloat(Bf16.FromFloat(value))), $"0x{bits:X4}");
            else
                Assert.Equal((ushort)bits, Bf16.FromFloat(value));
        }
    }

    [Fact]
    public void RandomFloatsRoundToNearestEven()
    {
        var random = new RandomData();
        for (int i = 0; i < 200_000; i++)
        {
            float value = BitConverter.UInt32BitsToSingle(random.NextBits());
            if (float.IsNaN(value) || float.IsInfinity(value) || Math.Abs(value) >= 3.3e38f)
                continue;
            Assert.True(ReferenceFromFloat(value) == Bf16.FromFloat(value), $"seed {random.Seed}: {value:R}");
        }
    }

    [Theory]
    [InlineData(0x3F808000u, 0x3F80)] // 1 + 2^-8: exact tie, kept bit even → down
    [InlineData(0x3F818000u, 0x3F82)] // tie with odd kept bit → up to even
    [InlineData(0x3F808001u, 0x3F81)] // just above the tie → up
    [InlineData(0x3F807FFFu, 0x3F80)] // just below the tie → down
    [InlineData(0x7F7FFFFFu, 0x7F80)] // float max rounds to +inf
    [InlineData(0xFF800000u, 0xFF80)] // -inf stays -inf
    [InlineData(0x80000000u, 0x8000)] // -0 keeps its sign
    public void TiesGoToEven(uint floatBits, int expected)
        => Assert.Equal((ushort)expected, Bf16.FromFloat(BitConverter.UInt32BitsToSingle(floatBits)));

    [Fact]
    public void NaNStaysNaNEvenWhenOnlyLowPayloadBitsAreSet()
    {
        float lowPayloadNaN = BitConverter.UInt32BitsToSingle(0x7F800001u);
        Assert.True(float.IsNaN(Bf16.ToFloat(Bf16.FromFloat(lowPayloadNaN))));
        Assert.True(float.IsNaN(Bf16.ToFloat(Bf16.FromFloat(float.NaN))));
    }
}
