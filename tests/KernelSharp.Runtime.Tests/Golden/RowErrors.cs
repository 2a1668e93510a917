using Xunit;
namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>
/// Per-row relative error ‖ours − ref‖ / ‖ref‖ of two [rows, columns] matrices, summarized as the golden contract
/// states it: median, 99th percentile, and how often the argmax agrees.
/// </summary>
public sealed record RowErrors(double[] Errors, double Median, double P99, double Max, double ArgmaxAgreement)
{
    public static RowErrors Compare(ReadOnlySpan<float> ours, ReadOnlySpan<float> reference, int columns)
    {
        Assert.Equal(reference.Length, ours.Length);
        var rows = reference.Length / columns;
        var errors = new double[rows];
        var agreements = 0;
        for (var r = 0; r < rows; r++)
        {
            var a = ours.Slice(r * columns, columns);
            var b = reference.Slice(r * columns, columns);
            double difference = 0, norm = 0;
            for (var c = 0; c < columns; c++)
            {
                difference += ((double)a[c] - b[c]) * ((double)a[c] - b[c]);
                norm += (double)b[c] * b[c];
            }

            errors[r] = Math.Sqrt(difference) / Math.Max(Math.Sqrt(norm), 1e-30);
            agreements += ArgMax(a) == ArgMax(b) ? 1 : 0;
        }

        var sorted = errors.Order().ToArray();
        return new RowErrors(errors, Percentile(sorted, 0.5), Percentile(sorted, 0.99), sorted[^1], (double)agreements / rows);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Linear interpolation between closest ranks (numpy's default).</summary>
    private static double Percentile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((sorted[high] - sorted[low]) * (position - low));
    }

    public override string ToString() => $"median {Median:E2}, p99 {P99:E2}, max {Max:E2}, argmax agreement {ArgmaxAgreement:P1} over {Errors.Length} rows";
}
