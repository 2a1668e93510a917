using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl.Tests;

/// <summary>
/// <see cref="Bf16.RoundPair"/>: the same bits as two <see cref="Bf16.FromFloat"/> on every backend (one
/// <c>cvt.rn.bf16x2.f32</c> on CUDA), over inputs that exercise every rounding case: exact ties both ways, values just
/// off a tie, subnormals, the largest finite floats (which round to infinity), infinities, signed zeros and NaN.
/// </summary>
public class Bf16RoundPairTests
{
    private static float[] Inputs(RandomData random)
    {
        var values = new List<float>();
        foreach (uint bits in new uint[] { 0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, 0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF,
                     0x00008000, 0x00018000, 0x00000001, 0x007FFFFF, 0x80000000, 0x00000000, 0x7F800000 })
        {
            values.Add(BitConverter.UInt32BitsToSingle(bits));
            values.Add(BitConverter.UInt32BitsToSingle(bits | 0x8000_0000u));
        }
        for (int i = 0; i < 4096; i++)
        {
            uint bits = random.NextBits();
            if (i % 2 == 0)
                bits = (bits & 0xFFFF_0000u) | 0x8000u; // a tie: exactly half way between two bf16 values
            float value = BitConverter.UInt32BitsToSingle(bits);
            if (!float.IsNaN(value))
                values.Add(value);
        }
        return [.. values];
    }

    /// <summary>Pairs (value i, value i + 1) of <paramref name="values"/>, as a kernel would round them.</summary>
    private static void RoundPairs(Index1D pair, ArrayView<float> values, ArrayView<uint> packed)
        => packed[pair] = Bf16.RoundPair(values[2 * pair], values[2 * pair + 1]);

    private static uint[] Expected(float[] values)
        => Enumerable.Range(0, values.Length / 2)
            .Select(p => Bf16.FromFloat(values[2 * p]) | ((uint)Bf16.FromFloat(values[2 * p + 1]) << 16)).ToArray();

    [Fact]
    public void On_the_host_it_is_two_FromFloat()
    {
        var values = Inputs(new RandomData());
        var expected = Expected(values);
        for (int p = 0; p < expected.Length; p++)
            Assert.Equal(expected[p], Bf16.RoundPair(values[2 * p], values[2 * p + 1]));
        float nan = BitConverter.UInt32BitsToSingle(0x7F800001u); // only low payload bits: must not become infinity
        Assert.True(float.IsNaN(Bf16.ToFloat((ushort)Bf16.RoundPair(nan, 1f))));
        Assert.True(float.IsNaN(Bf16.ToFloat((ushort)(Bf16.RoundPair(1f, nan) >> 16))));
    }

    [Fact]
    public void On_the_ILGPU_CPU_accelerator_it_matches_the_host()
    {
        using var cpu = IlgpuCpu.Nvidia32();
        var values = Inputs(new RandomData());
        Assert.Equal(Expected(values), Run(cpu.Accelerator, values));
    }

    [SkippableFact]
    public void On_CUDA_one_conversion_instruction_gives_the_same_bits()
    {
        using var context = Context.Create(builder => builder.Cuda());
        Skip.If(context.GetCudaDevices().Count == 0, "no CUDA device");
        KernelSharpIntrinsics.Register(context);
        using var accelerator = context.CreateCudaAccelerator(0);
        var random = new RandomData();
        var values = Inputs(random).Append(float.NaN).Append(1f).ToArray();
        uint[] actual = Run(accelerator, values);
        uint[] expected = Expected(values);
        for (int p = 0; p < expected.Length - 1; p++)
            Assert.True(expected[p] == actual[p], $"seed {random.Seed}, pair {p} ({values[2 * p]:R}, {values[2 * p + 1]:R}): 0x{actual[p]:X8}, expected 0x{expected[p]:X8}");
        Assert.True(float.IsNaN(Bf16.ToFloat((ushort)actual[^1])), $"NaN became 0x{actual[^1] & 0xFFFF:X4}"); // payloads may differ
        Assert.Equal(0x3F80u, actual[^1] >> 16);
    }

    private static uint[] Run(Accelerator accelerator, float[] values)
    {
        using var input = accelerator.Allocate1D(values);
        using var output = accelerator.Allocate1D<uint>(values.Length / 2);
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<uint>>(RoundPairs)((int)output.Length, input.View, output.View);
        accelerator.Synchronize();
        return output.GetAsArray1D();
    }
}
