using KernelSharp.Kernels.Tensors;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Tensors;

/// <summary>
/// fp32 → bf16 rounding (the tensor-core prefill's activation conversion) against the reference, bit for bit: random
/// values over many binades, exact ties on both parities, values that round up to infinity, subnormals, signed
/// zeros, infinities and NaN; counts that end inside a group. The output starts as 0xFFFF, so an element the
/// kernel forgets to write fails.
/// </summary>
public abstract class ToBf16Tests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(4099)]
    public void Matches_reference_bit_for_bit(int count)
    {
        RequireBackend();
        var random = NewRandom(count * 17 + 3);
        float[] values = RandomValues(random, count);
        ushort[] expected = ToBf16Reference.Round(values);

        using var source = Upload(values);
        using var target = Upload(Enumerable.Repeat((ushort)0xFFFF, count).ToArray());
        Launch(typeof(TensorKernels).GetMethod(nameof(TensorKernels.ToBf16))!, Config((count + 255) / 256, 1, 256), source.View, target.View, count);

        ushort[] actual = Download(target, count);
        for (int i = 0; i < count; i++)
        {
            if (float.IsNaN(values[i]))
                Assert.True(IsBf16NaN(actual[i]), $"element {i}: NaN became 0x{actual[i]:X4}");
            else
                Assert.True(expected[i] == actual[i], $"element {i} ({values[i]:R}, bits 0x{BitConverter.SingleToUInt32Bits(values[i]):X8}): expected 0x{expected[i]:X4}, got 0x{actual[i]:X4}");
        }
    }

    /// <summary>Normal values over ±2^±40, then special cases at seeded random positions (as many as fit).</summary>
    private static float[] RandomValues(Random random, int count)
    {
        float[] values = RandomTensors.Normal(random, count);
        for (int i = 0; i < count; i++)
            values[i] *= MathF.Pow(2f, random.Next(-40, 41));

        uint[] specialBits =
        [
            0x3F80_8000u, 0x3F81_8000u, 0xBF80_8000u, 0xBF81_8000u, // ties: kept bit even (stays) and odd (rounds up)
            0x3F80_8001u, 0x3F80_7FFFu,                             // just past and just short of a tie
            0x7F7F_FFFFu, 0x7F7F_8000u, 0xFF7F_8000u, 0x7F7F_7FFFu, // largest floats: round to ±infinity or stay finite
            0x0000_0001u, 0x0000_8000u, 0x0001_8000u, 0x807F_FFFFu, // subnormals, ties among them, the largest one
            0x0000_0000u, 0x8000_0000u, 0x7F80_0000u, 0xFF80_0000u, // signed zeros and infinities
            0x7FC0_0000u, 0x7F80_0001u, 0xFF80_0001u,               // quiet NaN, signalling NaNs whose kept half is an infinity's
        ];
        int[] positions = Enumerable.Range(0, count).OrderBy(_ => random.Next()).Take(specialBits.Length).ToArray();
        for (int s = 0; s < positions.Length; s++)
            values[positions[s]] = BitConverter.UInt32BitsToSingle(specialBits[s]);
        return values;
    }

    private static bool IsBf16NaN(ushort bits) => (bits & 0x7F80) == 0x7F80 && (bits & 0x007F) != 0;
}

/// <summary>The reference itself on values whose bf16 rounding is known by hand.</summary>
public sealed class ToBf16ReferenceTests
{
    [Theory]
    [InlineData(0x3F80_0000u, 0x3F80)] // 1
    [InlineData(0x3F80_8000u, 0x3F80)] // 1 + 2^-8: a tie, kept bit even → down
    [InlineData(0x3F81_8000u, 0x3F82)] // 1 + 3·2^-8: a tie, kept bit odd → up
    [InlineData(0x3F80_8001u, 0x3F81)] // past the tie → up
    [InlineData(0xC049_0FDBu, 0xC049)] // −π → −3.140625
    [InlineData(0x7F7F_FFFFu, 0x7F80)] // the largest float → +infinity
    [InlineData(0x7F7F_7FFFu, 0x7F7F)] // short of the tie → the largest finite bf16
    [InlineData(0x0000_8000u, 0x0000)] // the smallest subnormal tie → zero (even)
    [InlineData(0x8001_8000u, 0x8002)] // a negative subnormal tie, odd → away from zero
    [InlineData(0xFF80_0000u, 0xFF80)] // −infinity
    public void Rounds_known_values(uint floatBits, int expected) =>
        Assert.Equal((ushort)expected, ToBf16Reference.Round(BitConverter.UInt32BitsToSingle(floatBits)));
}

public sealed class ToBf16Tests_FastCpu(FastCpuBackend b) : ToBf16Tests(b), IClassFixture<FastCpuBackend>;
public sealed class ToBf16Tests_IlgpuCpu(IlgpuCpuBackend b) : ToBf16Tests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class ToBf16Tests_Cuda(CudaBackend b) : ToBf16Tests(b), IClassFixture<CudaBackend>;
public sealed class ToBf16Tests_OpenCL(OpenCLBackend b) : ToBf16Tests(b), IClassFixture<OpenCLBackend>;
