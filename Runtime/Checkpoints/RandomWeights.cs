using KernelSharp.Kernels.Synthetic;

namespace KernelSharp.Runtime;

/// <summary>
/// Deterministic pseudo-random tensor values for <see cref="RandomCheckpointWriter"/> and synthetic models (weights
/// generated where they live, see Runtime/Model/Synthetic). Element i of a tensor is a pure function of (seed, tensor
/// name, i) — a counter-based generator, <see cref="SyntheticWeightStream"/> — so values do not depend on the order,
/// the chunking or the device in which they are produced, and chunks can be filled in parallel.
/// Values are uniform with the standard deviation of <see cref="StandardDeviation"/> around <see cref="Mean"/>:
/// projections 1/sqrt(fan_in) so activations stay O(1), norms 1 ± 0.1, embeddings 1.
/// </summary>
public static class RandomWeights
{
    private const float Sqrt3 = 1.7320508f;

    /// <summary>How a checkpoint of random weights stores a tensor of <paramref name="role"/>: projections FP8 (with block
    /// scales) when the checkpoint is FP8, the router's bias and the indexer's head weights F32 as in the release, else BF16.</summary>
    public static TensorDType StoredDType(TensorRole role, bool fp8Checkpoint) => role switch
    {
        TensorRole.Projection when fp8Checkpoint => TensorDType.F8_E4M3,
        TensorRole.RouterBias or TensorRole.IndexerHeadWeights => TensorDType.F32,
        _ => TensorDType.BF16,
    };

    public static float Mean(TensorRole role) => role == TensorRole.NormWeight ? 1f : 0f;

    public static float StandardDeviation(CheckpointTensor tensor) => tensor.Role switch
    {
        TensorRole.Embedding => 1f,
        TensorRole.NormWeight => 0.05f,
        TensorRole.NormBias => 0.05f,
        TensorRole.RouterBias => 0.02f,
        _ => 1f / MathF.Sqrt(tensor.FanIn),
    };

    /// <summary>Half the width of the uniform distribution of <paramref name="tensor"/>'s values.</summary>
    public static float HalfWidth(CheckpointTensor tensor) => StandardDeviation(tensor) * Sqrt3; // uniform on [-a, a] has standard deviation a/sqrt(3)

    /// <summary>The stream key of a tensor: mixes the seed with a stable (FNV-1a) hash of the name.</summary>
    public static ulong TensorKey(int seed, string tensorName)
    {
        ulong hash = 0xCBF29CE484222325;
        foreach (char c in tensorName)
        {
            hash = (hash ^ c) * 0x100000001B3;
        }

        return SyntheticWeightStream.Mix(hash ^ SyntheticWeightStream.Mix((ulong)(uint)seed + SyntheticWeightStream.ElementStride));
    }

    /// <summary>Fills <paramref name="values"/> with elements [first, first + values.Length) of the tensor's stream.</summary>
    public static void Fill(ulong tensorKey, long first, Span<float> values, float mean, float standardDeviation)
    {
        float halfWidth = standardDeviation * Sqrt3; // uniform on [-a, a] has standard deviation a/sqrt(3)
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = mean + (halfWidth * SyntheticWeightStream.Unit(tensorKey, first + i));
        }
    }
}
