using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Dsl.Tests;

public class Fp8E4M3Tests
{
    /// <summary>The e4m3fn definition written out: (-1)^s · 2^(e-7) · (1 + m/8), subnormals 2^-6 · m/8, NaN at S.1111.111.</summary>
    private static double ReferenceDecode(byte bits)
    {
        int sign = bits >> 7;
        int exponent = (bits >> 3) & 0xF;
        int mantissa = bits & 0x7;
        if (exponent == 15 && mantissa == 7)
            return double.NaN;
        double magnitude = exponent == 0
            ? Math.Pow(2, -6) * (mantissa / 8.0)
            : Math.Pow(2, exponent - 7) * (1 + mantissa / 8.0);
        return sign == 1 ? -magnitude : magnitude;
    }

    /// <summary>Reference encoder: the nearest finite e4m3 value by search over all 254 finite codes (ties to the even
    /// code, i.e. the one with mantissa bit 0 clear), saturating beyond 448.</summary>
    private static byte ReferenceEncode(float value)
    {
        if (float.IsNaN(value))
            return (byte)(value < 0 || BitConverter.SingleToInt32Bits(value) < 0 ? 0xFF : 0x7F);
        byte best = 0;
        double bestDistance = double.PositiveInfinity;
        for (int code = 0; code < 256; code++)
        {
            double candidate = ReferenceDecode((byte)code);
            if (double.IsNaN(candidate) || (code == 0x80))
                continue;
            double distance = Math.Abs(candidate - Math.Clamp((double)value, -448, 448));
            if (distance < bestDistance || (distance == bestDistance && (code & 1) == 0))
            {
                best = (byte)code;
                bestDistance = distance;
            }
        }
        // -0.0 and tiny negatives keep their sign (the search above only found +0).
        if (best == 0 && BitConverter.SingleToInt32Bits(value) < 0)
            best = 0x80;
        return best;
    }

    [Fact]
    public void DecodeMatchesTheFormulaForAll256Codes()
    {
        for (int code = 0; code < 256; code++)
        {
            double expected = ReferenceDecode((byte)code);
            float actual = Fp8E4M3.ToFloat((byte)code);
            if (double.IsNaN(expected))
                Assert.True(float.IsNaN(actual), $"0x{code:X2}");
            else
                Assert.True(expected == actual, $"0x{code:X2}: expected {expected:R}, got {actual:R}");
        }
    }

    [Fact]
    public void KnownCodes()
    {
        Assert.Equal(448f, Fp8E4M3.ToFloat(0x7E));
        Assert.Equal(-448f, Fp8E4M3.ToFloat(0xFE));
        Assert.Equal(1f, Fp8E4M3.ToFloat(0x38));
        Assert.Equal(MathF.Pow(2, -9), Fp8E4M3.ToFloat(0x01));
        Assert.Equal(MathF.Pow(2, -6), Fp8E4M3.ToFloat(0x08));
        Assert.True(float.IsNaN(Fp8E4M3.ToFloat(0x7F)));
        Assert.True(float.IsNaN(Fp8E4M3.ToFloat(0xFF)));
    }

    [Fact]
    public void EveryFiniteCodeRoundTrips()
    {
        for (int code = 0; code < 256; code++)
        {
            if ((code & 0x7F) == 0x7F)
                continue;
            Assert.Equal((byte)code, Fp8E4M3.FromFloat(Fp8E4M3.ToFloat((byte)code)));
        }
    }

    [Fact]
    public void RandomFloatsMatchTheSearchReference()
    {
        var random = new RandomData();
        for (int i = 0; i < 50_000; i++)
        {
            // Spread magnitudes over the whole e4m3 range and beyond: 2^-12 .. 2^10.
            float value = random.NextFloat() * MathF.Pow(2, (i % 23) - 12);
            Assert.True(ReferenceEncode(value) == Fp8E4M3.FromFloat(value), $"seed {random.Seed}: {value:R}");
        }
    }

    [Fact]
    public void MidpointsRoundToEvenIncludingSubnormals()
    {
        for (int code = 0; code < 0x7E; code++)
        {
            double low = ReferenceDecode((byte)code);
            double high = ReferenceDecode((byte)(code + 1));
            float midpoint = (float)((low + high) / 2);
            byte even = (code & 1) == 0 ? (byte)code : (byte)(code + 1);
            Assert.True(even == Fp8E4M3.FromFloat(midpoint), $"midpoint of 0x{code:X2} and 0x{code + 1:X2}");
            Assert.True((byte)(even | 0x80) == Fp8E4M3.FromFloat(-midpoint), $"negative midpoint of 0x{code:X2}");
        }
    }

    [Theory]
    [InlineData(448f, 0x7E)]
    [InlineData(463.99f, 0x7E)]
    [InlineData(1e6f, 0x7E)]
    [InlineData(float.PositiveInfinity, 0x7E)]
    [InlineData(float.NegativeInfinity, 0xFE)]
    [InlineData(-500f, 0xFE)]
    [InlineData(1e-30f, 0x00)]
    public void SaturatesAndFlushes(float value, int expected) => Assert.Equal((byte)expected, Fp8E4M3.FromFloat(value));

    [Fact]
    public void NaNStaysNaN()
    {
        Assert.Equal(0x7F, Fp8E4M3.FromFloat(float.NaN) & 0x7F);
        Assert.True(float.IsNaN(Fp8E4M3.ToFloat(Fp8E4M3.FromFloat(BitConverter.UInt32BitsToSingle(0x7F800001u)))));
    }

    /// <summary>Packs four codes little-endian, byte 0 first.</summary>
    private static uint Pack(int b0, int b1, int b2, int b3) => (uint)(b0 | (b1 << 8) | (b2 << 16) | (b3 << 24));

    private static void AssertSameDecode(double expected, float actual, string what)
    {
        if (double.IsNaN(expected))
            Assert.True(float.IsNaN(actual), what);
        else
            Assert.True(expected == actual && double.IsNegative(expected) == float.IsNegative(actual), $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void PackedDecodeMatchesTheFormulaForEveryCodeInEveryBytePosition()
    {
        var random = new Random(Environment.TickCount);
        for (int code = 0; code < 256; code++)
        {
            for (int position = 0; position < 4; position++)
            {
                // The other three bytes are random finite codes, so leakage between bytes shows up.
                int[] bytes = Enumerable.Range(0, 4).Select(_ => RandomFiniteCode(random)).ToArray();
                bytes[position] = code;
                Float4 decoded = Fp8E4M3.ToFloat4(Pack(bytes[0], bytes[1], bytes[2], bytes[3]));
                float[] lanes = [decoded.X, decoded.Y, decoded.Z, decoded.W];
                for (int lane = 0; lane < 4; lane++)
                    AssertSameDecode(ReferenceDecode((byte)bytes[lane]), lanes[lane], $"0x{code:X2} at byte {position}, lane {lane}");
            }
        }
    }

    [Fact]
    public void NaNFlagsMarkExactlyTheNaNBytes()
    {
        var random = new Random(Environment.TickCount);
        for (int trial = 0; trial < 20000; trial++)
        {
            int[] bytes = Enumerable.Range(0, 4).Select(_ => random.Next(8) == 0 ? (random.Next(2) == 0 ? 0x7F : 0xFF) : random.Next(256)).ToArray();
            uint flags = Fp8E4M3.NaNFlags(Pack(bytes[0], bytes[1], bytes[2], bytes[3])) & Fp8E4M3.NaNFlagMask;
            for (int lane = 0; lane < 4; lane++)
                Assert.Equal((bytes[lane] & 0x7F) == 0x7F, (flags >> (8 * lane + 7) & 1) == 1);
        }
    }

    [Fact]
    public void PackedDecodeIgnoringNaNAgreesOnFiniteCodes()
    {
        var random = new Random(Environment.TickCount);
        for (int trial = 0; trial < 20000; trial++)
        {
            uint packed = Pack(RandomFiniteCode(random), RandomFiniteCode(random), RandomFiniteCode(random), RandomFiniteCode(random));
            Assert.Equal(Fp8E4M3.ToFloat4(packed), Fp8E4M3.ToFloat4IgnoringNaN(packed));
        }
    }

    /// <summary>The same decode inside an ILGPU kernel (what GPU code runs), one word per thread.</summary>
    [Fact]
    public void PackedDecodeInAKernelMatchesTheHostDecode()
    {
        var random = new Random(Environment.TickCount);
        uint[] words = new uint[4096];
        for (int i = 0; i < words.Length; i++)
            words[i] = (uint)random.Next() ^ ((uint)random.Next(4) << 30);
        words[0] = Pack(0x7F, 0x01, 0x80, 0xFF); // NaN, smallest subnormal, -0, -NaN
        using var cpu = IlgpuCpu.Nvidia32();
        using var input = cpu.Upload(words);
        using var output = cpu.Accelerator.Allocate1D<Float4>(words.Length);
        var kernel = cpu.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<uint>, ArrayView<Float4>>(DecodeWords);
        kernel(words.Length, input.View, output.View);
        cpu.Accelerator.Synchronize();
        Float4[] decoded = output.GetAsArray1D();
        for (int i = 0; i < words.Length; i++)
        {
            float[] lanes = [decoded[i].X, decoded[i].Y, decoded[i].Z, decoded[i].W];
            for (int lane = 0; lane < 4; lane++)
                AssertSameDecode(ReferenceDecode((byte)(words[i] >> (8 * lane))), lanes[lane], $"word {i} lane {lane}");
        }
    }

    private static void DecodeWords(Index1D i, ArrayView<uint> words, ArrayView<Float4> decoded) => decoded[i] = Fp8E4M3.ToFloat4(words[i]);

    private static int RandomFiniteCode(Random random)
    {
        int code = random.Next(254);
        return code >= 0x7F ? code + 1 : code; // skip 0x7F; 0xFF is past the range
    }
}
