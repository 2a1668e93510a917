using Xunit;
namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>
/// Tie-aware comparison of indexer top-k sets. Only visible keys (t ≤ s) count: the reference fills the rows of early
/// queries with masked keys, which attention ignores. A row may differ only when every key in the symmetric difference
/// has a reference score within <see cref="Tolerance"/> of the k-th best visible score (a near-tie at the cut).
/// </summary>
public sealed record TopKComparison(int Rows, int RowsDiffering, List<int> UnexplainedRows, double LargestExplainedGap)
{
    /// <summary>Scores are O(1); fp32 reorderings move them by ~1e-6. Allow ~1e-4 relative to the cut score.</summary>
    public const double Tolerance = 1e-4;

    /// <param name="ours">[rows, k], −1 = empty</param>
    /// <param name="reference">[rows, k] reference indices (masked keys allowed)</param>
    /// <param name="referenceScores">[rows, rows] reference index scores</param>
    public static TopKComparison Compare(int[] ours, int[] reference, float[] referenceScores, int rows, int k)
    {
        var differing = 0;
        var unexplained = new List<int>();
        var largestGap = 0.0;
        for (var s = 0; s < rows; s++)
        {
            var mine = ours.AsSpan(s * k, k).ToArray().Where(t => t >= 0 && t <= s).ToHashSet();
            var theirs = reference.AsSpan(s * k, k).ToArray().Where(t => t >= 0 && t <= s).ToHashSet();
            if (mine.SetEquals(theirs))
            {
                continue;
            }

            differing++;
            var visible = referenceScores.AsSpan(s * rows, s + 1).ToArray().OrderDescending().ToArray();
            var cut = visible[Math.Min(k, visible.Length) - 1]; // k-th best reference score
            var tolerance = Tolerance * Math.Max(1.0, Math.Abs(cut));
            var gap = mine.SymmetricExceptWith(theirs, out var changed)
                ? changed.Max(t => Math.Abs(referenceScores[s * rows + t] - cut))
                : 0;
            largestGap = Math.Max(largestGap, gap);
            if (gap > tolerance)
            {
                unexplained.Add(s);
            }
        }

        return new TopKComparison(rows, differing, unexplained, largestGap);
    }

    public override string ToString() =>
        $"{RowsDiffering}/{Rows} rows differ (largest |score − cut| {LargestExplainedGap:E2}), unexplained rows: [{string.Join(", ", UnexplainedRows.Take(10))}]";
}

internal static class SetExtensions
{
    public static bool SymmetricExceptWith(this HashSet<int> a, HashSet<int> b, out HashSet<int> result)
    {
        result = new HashSet<int>(a);
        result.SymmetricExceptWith(b);
        return result.Count > 0;
    }
}
