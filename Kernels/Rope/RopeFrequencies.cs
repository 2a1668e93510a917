namespace KernelSharp.Kernels.Rope;

/// <summary>
/// Rotary-embedding frequencies for a rope dimension d (pairs i = 0 .. d/2−1), plain or YaRN-scaled, and the cos/sin
/// tables the rope kernels read. Computed in fp32 the way transformers does (inv_freq, position × inv_freq and cos
/// are fp32 there), so large positions round like the reference model. DSA.md §3 "YaRN frequencies".
/// </summary>
public sealed class RopeFrequencies
{
    private RopeFrequencies(float[] inverseFrequencies, float attentionScaling)
    {
        InverseFrequencies = inverseFrequencies;
        AttentionScaling = attentionScaling;
    }

    /// <summary>inv_freq[i], [d/2].</summary>
    public float[] InverseFrequencies { get; }

    /// <summary>Factor applied to cos and sin (YaRN's mscale ratio; 1 for plain RoPE).</summary>
    public float AttentionScaling { get; }

    public int RopeDim => InverseFrequencies.Length * 2;

    /// <summary>Plain RoPE: inv_freq[i] = θ^(−2i/d).</summary>
    public static RopeFrequencies Default(int ropeDim, double theta)
    {
        RequireEvenDim(ropeDim);
        return new RopeFrequencies(BaseInverseFrequencies(ropeDim, theta), 1f);
    }

    /// <summary>
    /// YaRN: pairs rotating faster than <paramref name="betaFast"/> turns over the original context keep their
    /// frequency, pairs slower than <paramref name="betaSlow"/> turns are divided by <paramref name="factor"/>, and a
    /// linear ramp blends the pairs in between. Mscale and mscaleAllDim of 0 mean "not given" (as null in config.json).
    /// </summary>
    public static RopeFrequencies Yarn(int ropeDim, double theta, double factor, int originalMaxPositions,
        double betaFast, double betaSlow, double mscale, double mscaleAllDim)
    {
        RequireEvenDim(ropeDim);
        if (factor <= 0 || originalMaxPositions <= 0 || betaFast <= 0 || betaSlow <= 0)
        {
            throw new ArgumentException($"yarn rope parameters must be positive (factor {factor}, original_max_position_embeddings {originalMaxPositions}, beta_fast {betaFast}, beta_slow {betaSlow})");
        }
        float[] extrapolation = BaseInverseFrequencies(ropeDim, theta);
        double low = Math.Max(Math.Floor(CorrectionDim(betaFast, ropeDim, theta, originalMaxPositions)), 0);
        double high = Math.Min(Math.Ceiling(CorrectionDim(betaSlow, ropeDim, theta, originalMaxPositions)), ropeDim - 1);
        if (low == high)
        {
            high += 0.001; // transformers' guard against a zero-width ramp
        }
        var blended = new float[extrapolation.Length];
        for (int i = 0; i < blended.Length; i++)
        {
            // ramp = 1 → fully interpolated (slow pair, divided by factor), ramp = 0 → original frequency.
            float ramp = (float)Math.Clamp((i - low) / (high - low), 0, 1);
            float interpolation = extrapolation[i] / (float)factor;
            blended[i] = interpolation * ramp + extrapolation[i] * (1 - ramp);
        }
        double scaling = mscale != 0 && mscaleAllDim != 0
            ? YarnMscale(factor, mscale) / YarnMscale(factor, mscaleAllDim)
            : YarnMscale(factor, 1);
        return new RopeFrequencies(blended, (float)scaling);
    }

    /// <summary>YaRN's get_mscale: 0.1·m·ln(factor) + 1 for factor &gt; 1, else 1. The attention softmax scale uses it squared.</summary>
    public static double YarnMscale(double factor, double mscale) => factor <= 1 ? 1.0 : 0.1 * mscale * Math.Log(factor) + 1.0;

    /// <summary>cos and sin tables: [positions, d/2] each, entry (p, i) = cos/sin(p · inv_freq[i]) · attention scaling.</summary>
    public (float[] Cos, float[] Sin) BuildTables(int positions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(positions);
        int half = InverseFrequencies.Length;
        var cos = new float[(long)positions * half];
        var sin = new float[(long)positions * half];
        for (int p = 0; p < positions; p++)
        {
            for (int i = 0; i < half; i++)
            {
                float angle = p * InverseFrequencies[i]; // fp32 product, as transformers computes it
                cos[(long)p * half + i] = (float)Math.Cos(angle) * AttentionScaling;
                sin[(long)p * half + i] = (float)Math.Sin(angle) * AttentionScaling;
            }
        }
        return (cos, sin);
    }

    /// <summary>The pair index whose wavelength makes <paramref name="rotations"/> turns over the original context.</summary>
    private static double CorrectionDim(double rotations, int ropeDim, double theta, int originalMaxPositions) =>
        ropeDim * Math.Log(originalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));

    private static float[] BaseInverseFrequencies(int ropeDim, double theta)
    {
        var inverse = new float[ropeDim / 2];
        for (int i = 0; i < inverse.Length; i++)
        {
            // fp32 like torch: base ** (arange(0, d, 2).float() / d), then 1 / that.
            float exponent = 2 * i / (float)ropeDim;
            inverse[i] = 1f / MathF.Pow((float)theta, exponent);
        }
        return inverse;
    }

    private static void RequireEvenDim(int ropeDim)
    {
        if (ropeDim <= 0 || ropeDim % 2 != 0)
        {
            throw new ArgumentException($"rope dimension must be a positive even number, got {ropeDim}");
        }
    }
}
