using System.Globalization;
using Xunit.Sdk;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Element-wise comparison of a kernel's output with its reference: |actual - expected| ≤ atol + rtol·|expected|.
/// The failure message names the tensor, the first bad index and the worst error, so a failing backend is easy to read.
/// </summary>
public readonly record struct Tolerance(double Relative, double Absolute)
{
    /// <summary>fp32 math in a different summation order than the float64 reference.</summary>
    public static Tolerance Fp32 => new(1e-4, 1e-5);

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, Tolerance tolerance, string what)
    {
        if (expected.Length != actual.Length)
        {
            throw new XunitException($"{what}: length {actual.Length}, expected {expected.Length}");
        }
        int bad = 0;
        int firstBad = -1;
        double worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            double allowed = tolerance.Absolute + tolerance.Relative * Math.Abs(expected[i]);
            bool ok = error <= allowed || (double.IsNaN(expected[i]) && float.IsNaN(actual[i]))
                || (double.IsInfinity(expected[i]) && actual[i] == expected[i]);
            if (!ok)
            {
                bad++;
                if (firstBad < 0)
                {
                    firstBad = i;
                }
            }
            if (!(error <= worst))
            {
                worst = error;
                worstIndex = i;
            }
        }
        if (bad > 0)
        {
            throw new XunitException(string.Create(CultureInfo.InvariantCulture,
                $"{what}: {bad} of {expected.Length} elements out of tolerance (rtol {tolerance.Relative}, atol {tolerance.Absolute}); "
                + $"first [{firstBad}] expected {expected[firstBad]} got {actual[firstBad]}; worst [{worstIndex}] |err| {worst}"));
        }
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, Tolerance tolerance, string what)
    {
        var widened = new double[expected.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            widened[i] = expected[i];
        }
        AssertClose(widened, actual, tolerance, what);
    }
}
