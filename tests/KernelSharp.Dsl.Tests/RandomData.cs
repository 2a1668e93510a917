namespace KernelSharp.Dsl.Tests;

/// <summary>Fresh random inputs per test run; the seed is printed in failure messages through <see cref="Seed"/>.</summary>
public sealed class RandomData
{
    private readonly Random _random;

    public RandomData()
    {
        Seed = Random.Shared.Next();
        _random = new Random(Seed);
    }

    public int Seed { get; }

    public float[] Floats(int count, float scale = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)(_random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    public ushort[] Bf16Values(int count, float scale = 1f)
    {
        var values = new ushort[count];
        for (int i = 0; i < count; i++)
            values[i] = Bf16.FromFloat((float)(_random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    public float NextFloat(float scale = 1f) => (float)(_random.NextDouble() * 2 - 1) * scale;

    public uint NextBits() => (uint)_random.NextInt64(0, 1L << 32);
}
