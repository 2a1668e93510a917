namespace KernelSharp.Runtime.Generation;

/// <summary>
/// llama.cpp's repeat penalty (the CTRL paper's rule): each distinct token among the recent ones has its logit divided by
/// the penalty when positive and multiplied by it when negative, so it becomes less likely either way.
/// </summary>
public static class RepeatPenalty
{
    /// <summary>
    /// The logits with the penalty applied to the distinct tokens of the last <paramref name="lastN"/> of
    /// <paramref name="history"/>; the same array when the penalty is off, a changed copy otherwise. logits: [vocab].
    /// </summary>
    public static float[] Apply(float[] logits, IReadOnlyList<int> history, float penalty, int lastN)
    {
        if (!IsOn(history, penalty, lastN))
        {
            return logits;
        }
        float[] penalized = (float[])logits.Clone();
        ApplyInPlace(penalized, history, penalty, lastN);
        return penalized;
    }

    /// <summary>
    /// The same penalty written over <paramref name="logits"/> [vocab] itself: for a caller that owns the logits and
    /// refills them every step, so the penalty costs no vocabulary-sized copy per token.
    /// </summary>
    public static void ApplyInPlace(Span<float> logits, IReadOnlyList<int> history, float penalty, int lastN)
    {
        if (!IsOn(history, penalty, lastN))
        {
            return;
        }
        var seen = new HashSet<int>();
        for (int i = Math.Max(0, history.Count - lastN); i < history.Count; i++)
        {
            int token = history[i];
            if ((uint)token < (uint)logits.Length && seen.Add(token))
            {
                logits[token] = logits[token] > 0 ? logits[token] / penalty : logits[token] * penalty;
            }
        }
    }

    private static bool IsOn(IReadOnlyList<int> history, float penalty, int lastN) => penalty != 1f && lastN != 0 && history.Count > 0;
}
