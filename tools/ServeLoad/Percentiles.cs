namespace KernelSharp.Tools.ServeLoad;

/// <summary>
/// Count, mean, p50/p90/p99 and max of a sample, percentiles linearly interpolated between the closest ranks (numpy's
/// default), so numbers compare with the Python serving benchmarks that report the same way.
/// </summary>
public sealed record Percentiles(int Count, double Mean, double P50, double P90, double P99, double Max)
{
    /// <summary>The summary of <paramref name="values"/>; null for an empty sample.</summary>
    public static Percentiles? Of(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        return new Percentiles(sorted.Length, sorted.Average(), At(sorted, 0.50), At(sorted, 0.90), At(sorted, 0.99), sorted[^1]);
    }

    /// <summary>The <paramref name="fraction"/> quantile of an ascending sample.</summary>
    public static double At(IReadOnlyList<double> sorted, double fraction)
    {
        double rank = fraction * (sorted.Count - 1);
        int below = (int)Math.Floor(rank);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
