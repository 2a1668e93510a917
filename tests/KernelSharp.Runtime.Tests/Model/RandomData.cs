using Xunit;
namespace KernelSharp.Runtime.Tests.Model;

/// <summary>Fresh random inputs per test run; the seed is part of every failure message so a failure can be replayed.</summary>
public sealed class RandomData
{
    private readonly Random random;

    public RandomData(int? seed = null)
    {
        Seed = seed ?? Random.Shared.Next();
        random = new Random(Seed);
    }

    public int Seed { get; }

    /// <summary>Uniform values in [-scale, scale).</summary>
    public float[] Floats(int count, float scale = 1f)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return values;
    }

    public int Next(int maxExclusive) => random.Next(maxExclusive);

    public override string ToString() => $"seed {Seed}";
}
