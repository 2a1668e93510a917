namespace KernelSharp.Runtime;

/// <summary>
/// Rotary position embedding settings. <see cref="Type"/> is "default" (plain RoPE: only <see cref="Theta"/> matters)
/// or "yarn" (DeepSeek's long-context scaling; formulas in docs/DSA.md §3).
/// <see cref="Mscale"/> and <see cref="MscaleAllDim"/> are 0 when the config does not give them, as Hugging Face
/// treats a missing value differently from 1.
/// </summary>
public sealed record RopeConfig(
    string Type,
    double Theta,
    double Factor,
    int OriginalMaxPositionEmbeddings,
    double BetaFast,
    double BetaSlow,
    double Mscale,
    double MscaleAllDim)
{
    public const string DefaultType = "default";
    public const string YarnType = "yarn";

    public bool IsYarn => Type == YarnType;

    /// <summary>Plain RoPE with base <paramref name="theta"/>.</summary>
    public static RopeConfig Plain(double theta, int maxPositionEmbeddings) =>
        new(DefaultType, theta, 1.0, maxPositionEmbeddings, 0.0, 0.0, 0.0, 0.0);

    /// <summary>
    /// The attention softmax multiplier m² of DeepSeek's YaRN (docs/DSA.md §3 step 4): m = 0.1·mscale_all_dim·ln(factor) + 1
    /// when YaRN is on and mscale_all_dim is given, else 1.
    /// </summary>
    public double AttentionScaleMultiplier
    {
        get
        {
            if (!IsYarn || MscaleAllDim == 0.0 || Factor <= 1.0)
            {
                return 1.0;
            }

            double m = (0.1 * MscaleAllDim * Math.Log(Factor)) + 1.0;
            return m * m;
        }
    }
}
