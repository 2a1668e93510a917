namespace KernelSharp.Runtime;

/// <summary>
/// Deterministic pseudo-random tensor values for <see cref="RandomCheckpointWriter"/>. Element i of a tensor is a pure
/// function of (seed, tensor name, i) — a counter-based generator — so values do not depend on the order or the
/// chunking in which they are produced, and chunks can be filled in parallel.
/// Values are uniform with the standard deviation of <see cref="StandardDeviation"/> around <see cref="Mean"/>:
/// projections 1/sqrt(fan_in) so activations stay O(1), norms 1 ± 0.1, embeddings 1.
/// </summary>
public static class RandomWeights
{
    private const float Sqrt3 = 1.7320508f;

    public static float Mean(TensorRole role) => role == TensorRole.NormWeight ? 1f : 0f;

    public static float StandardDeviation(CheckpointTensor tensor) => tensor.Role switch
    {
        TensorRole.Embedding => 1f,
        TensorRole.NormWeight => 0.05f,
        TensorRole.NormBias => 0.05f,
        TensorRole.RouterBias => 0.02f,
        _ => 1f / MathF.Sqrt(tensor.FanIn),
    };

    /// <summary>The stream key of a tensor: mixes the seed with a stable (FNV-1a) hash of the name.</summary>
    public static ulong TensorKey(int seed, string tensorName)
    {
        ulong hash = 0xCBF29CE484222325;
        foreach (char c in tensorName)
        {
            hash = (hash ^ c) * 0x100000001B3;
        }

        return Mix(hash ^ Mix((ulong)(uint)seed + 0x9E3779B97F4A7C15));
    }

    /// <summary>Fills <paramref name="values"/> with elements [first, first + values.Length) of the tensor's stream.</summary>
    public static void Fill(ulong tensorKey, long first, Span<float> values, float mean, float standardDeviation)
    {
        float halfWidth = standardDeviation * Sqrt3; // uniform on [-a, a] has standard deviation a/sqrt(3)
        for (int i = 0; i < values.Length; i++)
        {
            ulong bits = Mix(tensorKey + ((ulong)(first + i) * 0x9E3779B97F4A7C15));
            float unit = ((bits >> 40) * (1f / (1 << 24) * 2f)) - 1f; // 24 random bits → [-1, 1)
            values[i] = mean + (halfWidth * unit);
        }
    }

    // SplitMix64's finalizer: a bijective mix whose outputs for consecutive inputs look independent.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
