using KernelSharp.Kernels.Synthetic;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Synthetic;

/// <summary>
/// The generated-weight fills against their reference, bit for bit: bf16, e4m3 codes and the fp32 values of each
/// stored format, from a stream index far past 2^32 (a piece of a large tensor), with counts that end inside a group.
/// The output starts as all ones, so an element the kernel forgets to write fails.
/// </summary>
public abstract class SyntheticWeightsTests(BackendFixture backend) : BackendTestBase(backend)
{
    private const ulong Key = 0x0123_4567_89AB_CDEFul;
    private const long First = (1L << 33) + 12345;
    private const float HalfWidth = 0.0625f;

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(4099)]
    public void Bf16_matches_reference_bit_for_bit(int count)
    {
        RequireBackend();
        using var target = Upload(Enumerable.Repeat((ushort)0xFFFF, count).ToArray());
        Launch(typeof(SyntheticWeightKernels).GetMethod(nameof(SyntheticWeightKernels.FillSyntheticBf16))!, Config((count + 255) / 256, 1, 256),
            target.View, Key, First, HalfWidth, count);

        Assert.Equal(SyntheticWeightsReference.Bf16(Key, First, count, HalfWidth), Download(target, count));
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(4099)]
    public void Fp8_matches_reference_bit_for_bit(int count)
    {
        RequireBackend();
        using var target = Upload(Enumerable.Repeat((byte)0xFF, count).ToArray());
        Launch(typeof(SyntheticWeightKernels).GetMethod(nameof(SyntheticWeightKernels.FillSyntheticFp8))!, Config((count + 255) / 256, 1, 256),
            target.View, Key, First, count);

        byte[] codes = Download(target, count);
        Assert.Equal(SyntheticWeightsReference.Fp8(Key, First, count), codes);
        Assert.DoesNotContain(codes, c => (c & 0x7F) == 0x7F); // no NaN code
    }

    [SkippableTheory]
    [InlineData(SyntheticStorage.Float32)]
    [InlineData(SyntheticStorage.Bf16)]
    [InlineData(SyntheticStorage.Fp8)]
    public void Widened_values_match_reference_bit_for_bit(int storedAs)
    {
        RequireBackend();
        const int count = 777;
        using var target = Upload(Enumerable.Repeat(float.NaN, count).ToArray());
        Launch(typeof(SyntheticWeightKernels).GetMethod(nameof(SyntheticWeightKernels.FillSyntheticFloat))!, Config((count + 255) / 256, 1, 256),
            target.View, Key, First, HalfWidth, storedAs, count);

        float[] expected = storedAs switch
        {
            SyntheticStorage.Bf16 => SyntheticWeightsReference.Bf16(Key, First, count, HalfWidth).Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray(),
            SyntheticStorage.Fp8 => SyntheticWeightsReference.Fp8(Key, First, count).Select(c => Dsl.Fp8E4M3.ToFloat(c) * (HalfWidth / 448f)).ToArray(),
            _ => SyntheticWeightsReference.Units(Key, First, count).Select(u => HalfWidth * u).ToArray(),
        };
        Assert.Equal(expected, Download(target, count));
    }
}

/// <summary>The stream itself: uniform on [-1, 1), no repeats in a run, and the host helpers agree with the reference.</summary>
public sealed class SyntheticWeightStreamTests
{
    [Fact]
    public void Units_are_uniform_on_minus_one_to_one_and_the_helpers_agree_with_the_reference()
    {
        const int count = 100_000;
        float[] units = SyntheticWeightsReference.Units(42, 7, count);
        Assert.All(units, u => Assert.InRange(u, -1f, 1f - (1f / (1 << 23))));
        Assert.InRange(units.Average(), -0.01, 0.01);
        Assert.InRange(units.Average(u => (double)u * u), (1 / 3.0) - 0.01, (1 / 3.0) + 0.01); // variance of U(-1, 1)
        Assert.True(units.Distinct().Count() > count * 99 / 100);
        Assert.Equal(units, Enumerable.Range(0, count).Select(i => SyntheticWeightStream.Unit(42, 7 + i)));
    }
}

public sealed class SyntheticWeightsTests_FastCpu(FastCpuBackend b) : SyntheticWeightsTests(b), IClassFixture<FastCpuBackend>;
public sealed class SyntheticWeightsTests_IlgpuCpu(IlgpuCpuBackend b) : SyntheticWeightsTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class SyntheticWeightsTests_Cuda(CudaBackend b) : SyntheticWeightsTests(b), IClassFixture<CudaBackend>;
public sealed class SyntheticWeightsTests_OpenCL(OpenCLBackend b) : SyntheticWeightsTests(b), IClassFixture<OpenCLBackend>;
