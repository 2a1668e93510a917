using System.Globalization;
using Xunit;

namespace KernelSharp.Kernels.Tests.Invariants;

/// <summary>
/// Tie-tolerant comparison of a top-k selection with reference scores (DSA.md §4): the selection may differ from the
/// reference's only among keys whose reference scores lie within <c>tolerance</c> of the k-th best score.
/// </summary>
public static class SelectionAssert
{
    /// <param name="referenceScores">the row's reference scores (−∞ = masked).</param>
    /// <param name="selected">the kernel's selected key indices for the row.</param>
    public static void TieTolerantTopK(ReadOnlySpan<double> referenceScores, ReadOnlySpan<int> selected, int k, double tolerance, string what)
    {
        var valid = new List<int>();
        for (int t = 0; t < referenceScores.Length; t++)
        {
            if (!double.IsNegativeInfinity(referenceScores[t]))
            {
                valid.Add(t);
            }
        }
        int expectedCount = Math.Min(k, valid.Count);
        Assert.True(selected.Length == expectedCount, $"{what}: {selected.Length} selected, expected {expectedCount}");
        if (expectedCount == 0)
        {
            return;
        }
        var validScores = new double[valid.Count];
        for (int i = 0; i < valid.Count; i++)
        {
            validScores[i] = referenceScores[valid[i]];
        }
        double[] sorted = validScores.OrderByDescending(s => s).ToArray();
        double kth = sorted[expectedCount - 1];
        var chosen = new HashSet<int>();
        foreach (int t in selected)
        {
            Assert.True(chosen.Add(t), $"{what}: key {t} selected twice");
            Assert.True(t >= 0 && t < referenceScores.Length && !double.IsNegativeInfinity(referenceScores[t]),
                $"{what}: selected key {t} is masked or out of range");
            Assert.True(referenceScores[t] >= kth - tolerance, Describe(what, "selected", t, referenceScores[t], kth));
        }
        foreach (int t in valid)
        {
            if (!chosen.Contains(t))
            {
                Assert.True(referenceScores[t] <= kth + tolerance, Describe(what, "left out", t, referenceScores[t], kth));
            }
        }
    }

    private static string Describe(string what, string verb, int t, double score, double kth) =>
        string.Create(CultureInfo.InvariantCulture, $"{what}: key {t} {verb} with reference score {score}, k-th best is {kth}");
}
