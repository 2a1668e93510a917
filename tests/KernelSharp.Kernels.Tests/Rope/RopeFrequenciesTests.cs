using KernelSharp.Kernels.Rope;
using Xunit;

namespace KernelSharp.Kernels.Tests.Rope;

/// <summary>The host-side frequency builder: plain RoPE, YaRN ramp bounds (DSA.md §3), mscale ratios, tables.</summary>
public sealed class RopeFrequenciesTests
{
    [Fact]
    public void Default_frequencies_are_theta_powers()
    {
        var f = RopeFrequencies.Default(64, 10000);
        Assert.Equal(32, f.InverseFrequencies.Length);
        Assert.Equal(1f, f.AttentionScaling);
        for (int i = 0; i < 32; i++)
        {
            double expected = Math.Pow(10000, -2.0 * i / 64);
            Assert.InRange(f.InverseFrequencies[i], expected * (1 - 1e-6), expected * (1 + 1e-6));
        }
    }

    [Fact]
    public void Yarn_keeps_fast_pairs_divides_slow_pairs_and_ramps_between()
    {
        // DeepSeek-V3.2's rope_scaling with its qk_rope_head_dim of 64.
        const int dim = 64;
        const double theta = 10000, factor = 40;
        var yarn = RopeFrequencies.Yarn(dim, theta, factor, 4096, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 1);
        var plain = RopeFrequencies.Default(dim, theta);

        // Correction range written out from DSA.md: c(r) = d·ln(orig/(2πr)) / (2·ln θ).
        double C(double r) => dim * Math.Log(4096 / (2 * Math.PI * r)) / (2 * Math.Log(theta));
        int low = (int)Math.Max(Math.Floor(C(32)), 0);
        int high = (int)Math.Min(Math.Ceiling(C(1)), dim - 1);
        Assert.Equal((10, 23), (low, high));

        for (int i = 0; i < dim / 2; i++)
        {
            double ramp = Math.Clamp((i - (double)low) / (high - low), 0, 1);
            double expected = plain.InverseFrequencies[i] / factor * ramp + plain.InverseFrequencies[i] * (1 - ramp);
            Assert.InRange(yarn.InverseFrequencies[i], expected * (1 - 1e-6), expected * (1 + 1e-6));
        }
        Assert.Equal(plain.InverseFrequencies[low], yarn.InverseFrequencies[low]);
        Assert.Equal(plain.InverseFrequencies[high] / (float)factor, yarn.InverseFrequencies[high], 1e-12f);
        Assert.Equal(1f, yarn.AttentionScaling); // mscale == mscale_all_dim
    }

    [Theory]
    [InlineData(40, 1, 0, 1.3688879454)]          // mscale_all_dim absent: get_mscale(factor)
    [InlineData(40, 0.707, 1, 1.2608037774 / 1.3688879454)]
    [InlineData(1, 1, 0, 1.0)]                     // factor ≤ 1: no scaling
    public void Yarn_attention_scaling_is_the_mscale_ratio(double factor, double mscale, double mscaleAllDim, double expected)
    {
        var yarn = RopeFrequencies.Yarn(64, 10000, factor, 4096, 32, 1, mscale, mscaleAllDim);
        Assert.Equal(expected, yarn.AttentionScaling, 5);
    }

    [Fact]
    public void Tables_hold_scaled_cos_and_sin_of_position_times_frequency()
    {
        var yarn = RopeFrequencies.Yarn(16, 10000, 4, 64, 32, 1, 1, 0);
        var (cos, sin) = yarn.BuildTables(50);
        Assert.Equal(50 * 8, cos.Length);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(yarn.AttentionScaling, cos[i], 6);
            Assert.Equal(0f, sin[i]);
        }
        for (int p = 0; p < 50; p++)
        {
            for (int i = 0; i < 8; i++)
            {
                float c = cos[p * 8 + i], s = sin[p * 8 + i];
                Assert.Equal(yarn.AttentionScaling * yarn.AttentionScaling, c * c + s * s, 4);
                Assert.Equal(Math.Cos(p * (double)yarn.InverseFrequencies[i]) * yarn.AttentionScaling, c, 4);
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Odd_or_empty_rope_dimension_is_rejected(int dim)
    {
        var e = Assert.Throws<ArgumentException>(() => RopeFrequencies.Default(dim, 10000));
        Assert.Contains("even", e.Message);
    }
}
