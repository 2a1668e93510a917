using KernelSharp.Runtime.Tests.Reference;
using KernelSharp.Runtime.Model.Layers;
using Xunit;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>RoPE and YaRN tables against the formulas of docs/DSA.md §3, evaluated in double precision.</summary>
public sealed class RotaryEmbeddingTests
{
    private const int Dim = 16;

    [Fact]
    public void Plain_rope_uses_theta_powers()
    {
        var config = ModelPresets.Get("tiny") with { QkRopeHeadDim = Dim, Rope = RopeConfig.Plain(10000.0, 4096) };

        var (cos, sin) = Table(config, 7);

        for (var i = 0; i < Dim / 2; i++)
        {
            var angle = 7 * Math.Pow(10000.0, -2.0 * i / Dim);
            Assert.Equal(Math.Cos(angle), cos[i], 5);
            Assert.Equal(Math.Sin(angle), sin[i], 5);
        }
    }

    [Theory]
    [InlineData(1.0, 1.0)]  // the released model: equal mscales, attention factor 1
    [InlineData(1.0, 0.5)]  // unequal: factor = mscale(f, 1) / mscale(f, 0.5)
    [InlineData(0.0, 0.0)]  // neither given: factor = 0.1 ln f + 1
    public void Yarn_blends_interpolated_and_extrapolated_frequencies_and_scales_by_the_attention_factor(double mscale, double mscaleAllDim)
    {
        const double theta = 10000.0, factor = 40.0;
        const int original = 128, position = 300;
        var rope = new RopeConfig(RopeConfig.YarnType, theta, factor, original, 32.0, 1.0, mscale, mscaleAllDim);
        var config = ModelPresets.Get("tiny") with { QkRopeHeadDim = Dim, Rope = rope };

        var (cos, sin) = Table(config, position);

        double Correction(double rotations) => Dim * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        static double Mscale(double f, double m) => (0.1 * m * Math.Log(f)) + 1;
        var low = Math.Max(Math.Floor(Correction(32.0)), 0);
        var high = Math.Min(Math.Ceiling(Correction(1.0)), Dim - 1);
        var attentionFactor = mscale != 0 && mscaleAllDim != 0 ? Mscale(factor, mscale) / Mscale(factor, mscaleAllDim) : Mscale(factor, 1);
        for (var i = 0; i < Dim / 2; i++)
        {
            var inverse = Math.Pow(theta, -2.0 * i / Dim);
            var ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            var blended = (inverse / factor * ramp) + (inverse * (1 - ramp));
            var angle = position * blended;
            Assert.True(Math.Abs((Math.Cos(angle) * attentionFactor) - cos[i]) < 2e-4, $"cos[{i}] = {cos[i]}, expected {Math.Cos(angle) * attentionFactor}");
            Assert.True(Math.Abs((Math.Sin(angle) * attentionFactor) - sin[i]) < 2e-4, $"sin[{i}] = {sin[i]}, expected {Math.Sin(angle) * attentionFactor}");
        }
    }

    [Fact]
    public void Attention_softmax_scale_multiplier_is_m_squared_under_yarn_only()
    {
        var yarn = new RopeConfig(RopeConfig.YarnType, 10000.0, 40.0, 4096, 32.0, 1.0, 1.0, 1.0);
        var m = (0.1 * Math.Log(40.0)) + 1;

        Assert.Equal(m * m, yarn.AttentionScaleMultiplier, 12);
        Assert.Equal(1.0, RopeConfig.Plain(10000.0, 4096).AttentionScaleMultiplier);
    }

    private static (float[] Cos, float[] Sin) Table(ModelConfig config, int position)
    {
        var backend = new CpuBackend();
        var (cos, sin) = new RotaryEmbedding(backend, config).Table([position]);
        return (backend.Download(cos), backend.Download(sin));
    }
}
