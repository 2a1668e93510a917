using KernelSharp.Kernels.Synthetic;

namespace KernelSharp.Runtime.Model.Synthetic;

/// <summary>
/// How one tensor of a synthetic model is generated: its stream (<see cref="RandomWeights.TensorKey"/> of the seed and
/// the Hub name), the format <c>create-model</c> would store it in, and the distribution <c>create-model</c> draws it
/// from (<see cref="RandomWeights"/>: uniform around <see cref="Mean"/> with half-width <see cref="HalfWidth"/>).
/// </summary>
/// <param name="Name">The tensor's Hub name (for messages).</param>
/// <param name="Shape">[out, in] for matrices, [n] for vectors.</param>
internal sealed record SyntheticTensor(string Name, long[] Shape, ulong Key, TensorDType StoredAs, float Mean, float HalfWidth)
{
    public static SyntheticTensor For(CheckpointTensor tensor, int seed, bool fp8Checkpoint) => new(
        tensor.Name,
        tensor.Shape,
        RandomWeights.TensorKey(seed, tensor.Name),
        RandomWeights.StoredDType(tensor.Role, fp8Checkpoint),
        RandomWeights.Mean(tensor.Role),
        RandomWeights.HalfWidth(tensor));

    public long ElementCount => Shape.Aggregate(1L, (product, dimension) => product * dimension);

    /// <summary><see cref="StoredAs"/> as the kernels' <see cref="SyntheticStorage"/> code.</summary>
    public int StorageCode => StoredAs switch
    {
        TensorDType.BF16 => SyntheticStorage.Bf16,
        TensorDType.F8_E4M3 => SyntheticStorage.Fp8,
        _ => SyntheticStorage.Float32,
    };

    /// <summary>The one block scale of every 128×128 block of an FP8 tensor (see <see cref="SyntheticWeightStream.Fp8Code"/>).</summary>
    public float Fp8Scale => SyntheticWeightStream.Fp8Scale(HalfWidth);
}
