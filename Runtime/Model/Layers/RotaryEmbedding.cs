using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// RoPE frequencies, with DeepSeek's YaRN scaling when the config asks for it (docs/DSA.md §3 "YaRN frequencies").
/// One table serves MLA (interleaved pairs) and the indexer (half-split pairs): only the pairing differs.
/// Angles and cos/sin are computed in fp32 like the reference, so long positions round the same way.
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly IModelBackend backend;
    private readonly float[] inverseFrequencies; // [rope/2]
    private readonly float attentionFactor;      // multiplies cos and sin (YaRN "attention_factor")

    public RotaryEmbedding(IModelBackend backend, ModelConfig config)
    {
        this.backend = backend;
        var rope = config.Rope;
        var dim = config.QkRopeHeadDim;
        var pairs = dim / 2;
        var baseFrequencies = new double[pairs];
        for (var i = 0; i < pairs; i++)
        {
            baseFrequencies[i] = (float)(1.0 / Math.Pow(rope.Theta, 2.0 * i / dim));
        }

        inverseFrequencies = new float[pairs];
        attentionFactor = 1f;
        if (!rope.IsYarn)
        {
            for (var i = 0; i < pairs; i++)
            {
                inverseFrequencies[i] = (float)baseFrequencies[i];
            }

            return;
        }

        // Frequencies above the "fast" correction dimension keep their value (extrapolation), those below the "slow"
        // one are divided by the factor (interpolation), with a linear ramp between.
        var low = Math.Max(Math.Floor(CorrectionDimension(rope.BetaFast, dim, rope)), 0);
        var high = Math.Min(Math.Ceiling(CorrectionDimension(rope.BetaSlow, dim, rope)), dim - 1);
        if (low == high)
        {
            high += 0.001; // avoids a division by zero, as the reference does
        }

        for (var i = 0; i < pairs; i++)
        {
            var ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            var interpolated = (float)baseFrequencies[i] / (float)rope.Factor;
            inverseFrequencies[i] = (float)((interpolated * ramp) + (baseFrequencies[i] * (1 - ramp)));
        }

        attentionFactor = (float)(rope.Mscale != 0 && rope.MscaleAllDim != 0
            ? YarnMscale(rope.Factor, rope.Mscale) / YarnMscale(rope.Factor, rope.MscaleAllDim)
            : YarnMscale(rope.Factor, 1.0));
    }

    /// <summary>Pairs per head (rope dim / 2).</summary>
    public int Pairs => inverseFrequencies.Length;

    /// <summary>cos and sin [T, rope/2] of every frequency at every row's position.</summary>
    public (Tensor Cos, Tensor Sin) Table(ReadOnlySpan<int> positions)
    {
        var cos = new float[positions.Length * Pairs]; // [T, rope/2]
        var sin = new float[positions.Length * Pairs]; // [T, rope/2]
        for (var t = 0; t < positions.Length; t++)
        {
            for (var i = 0; i < Pairs; i++)
            {
                var angle = positions[t] * inverseFrequencies[i]; // fp32 product, as the reference
                cos[t * Pairs + i] = MathF.Cos(angle) * attentionFactor;
                sin[t * Pairs + i] = MathF.Sin(angle) * attentionFactor;
            }
        }

        return (backend.Upload(cos, positions.Length, Pairs), backend.Upload(sin, positions.Length, Pairs));
    }

    /// <summary>The (fractional) dimension index whose wavelength spans original_max_position_embeddings / rotations turns.</summary>
    private static double CorrectionDimension(double rotations, int dim, RopeConfig rope) =>
        dim * Math.Log(rope.OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(rope.Theta));

    /// <summary>YaRN's magnitude correction 0.1·mscale·ln(factor) + 1 (1 when the factor does not stretch).</summary>
    private static double YarnMscale(double factor, double mscale) => factor <= 1 ? 1.0 : (0.1 * mscale * Math.Log(factor)) + 1.0;
}
