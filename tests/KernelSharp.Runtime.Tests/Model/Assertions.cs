using Xunit;
namespace KernelSharp.Runtime.Tests.Model;

internal static class Assertions
{
    /// <summary>|a − b| ≤ tolerance · max(1, |b|) element-wise, naming the first index that differs.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var allowed = tolerance * Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed, $"{context}: element {i} is {actual[i]}, expected {expected[i]} (±{allowed:E1})");
        }
    }
}
