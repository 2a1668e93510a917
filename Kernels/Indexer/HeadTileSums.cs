using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// One warp tile's mma accumulators in the tensor-core indexer kernels (<see cref="IndexerKernels.IndexerDecodeFp8TensorCore"/>,
/// <see cref="IndexerKernels.IndexerPrefillTensorCore"/>): 16 keys × 64 heads as eight n-tiles of 8 heads. A lane holds
/// heads 8n + 2t and 8n + 2t + 1 (t = lane % 4) of every n-tile n, C0/C1 for key g (= lane / 4) and C2/C3 for key g + 8.
/// Its weighted-ReLU sums over those 16 heads are the lane's share of the two keys' scores.
/// </summary>
public readonly struct HeadTileSums(
    MmaAccumulator heads0, MmaAccumulator heads8, MmaAccumulator heads16, MmaAccumulator heads24,
    MmaAccumulator heads32, MmaAccumulator heads40, MmaAccumulator heads48, MmaAccumulator heads56)
{
    /// <summary>
    /// Σ over this lane's 16 heads of w[h]·ReLU(q_h·k), for key g (<see cref="KeyPairSums.First"/>) and key g + 8
    /// (<see cref="KeyPairSums.Second"/>); <paramref name="h"/> = 2t, the weights [64] (0 past the heads). Each weight
    /// pair is read once for both keys.
    /// </summary>
    public KeyPairSums WeightedRelu(ArrayView<float> weights, int h)
    {
        var sums = new KeyPairSums();
        Accumulate(ref sums, heads0, weights[h], weights[h + 1]);
        Accumulate(ref sums, heads8, weights[h + 8], weights[h + 9]);
        Accumulate(ref sums, heads16, weights[h + 16], weights[h + 17]);
        Accumulate(ref sums, heads24, weights[h + 24], weights[h + 25]);
        Accumulate(ref sums, heads32, weights[h + 32], weights[h + 33]);
        Accumulate(ref sums, heads40, weights[h + 40], weights[h + 41]);
        Accumulate(ref sums, heads48, weights[h + 48], weights[h + 49]);
        Accumulate(ref sums, heads56, weights[h + 56], weights[h + 57]);
        return sums;
    }

    private static void Accumulate(ref KeyPairSums sums, MmaAccumulator heads, float w0, float w1)
    {
        sums.First += IndexerMath.WeightedReluLow(heads, w0, w1);
        sums.Second += IndexerMath.WeightedReluHigh(heads, w0, w1);
    }
}
