using Xunit;

namespace KernelSharp.Generators.Tests.Infrastructure;

internal static class Numerics
{
    /// <summary>Fresh uniform values in [-scale, scale); the seed is printed on failure through the message.</summary>
    public static float[] Random(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    /// <summary>Asserts |actual - expected| ≤ tolerance · (1 + |expected|) everywhere.</summary>
    public static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (error {error}, tolerance {tolerance})");
        }
    }
}
