namespace KernelSharp.Tools.KernelBench;

/// <summary>‖actual − reference‖ / ‖reference‖ over a checked slice (NaN, e.g. an unwritten poisoned output, fails).</summary>
public static class Verification
{
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> reference)
    {
        if (actual.Length != reference.Length)
            throw new ArgumentException($"checked slice has {actual.Length} values, reference {reference.Length}");
        double difference = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (double.IsNegativeInfinity(reference[i]) && float.IsNegativeInfinity(actual[i]))
                continue; // masked (causal) positions agree
            double d = actual[i] - reference[i];
            difference += d * d;
            norm += reference[i] * reference[i];
        }
        double error = Math.Sqrt(difference) / Math.Max(Math.Sqrt(norm), 1e-30);
        return double.IsNaN(error) ? double.PositiveInfinity : error;
    }

    /// <summary>Throws when the slice is off: a benchmark of a wrong kernel reports the failure, not a speed.</summary>
    public static double Require(string what, ReadOnlySpan<float> actual, ReadOnlySpan<double> reference, double limit)
    {
        double error = RelativeError(actual, reference);
        if (!(error <= limit))
            throw new InvalidOperationException($"{what}: wrong result, relative error {error:E2} > {limit:E0}");
        return error;
    }
}
