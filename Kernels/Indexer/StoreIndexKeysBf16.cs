using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>
    /// Rounds N new keys to bf16 (nearest even) into cache rows <c>firstRow .. firstRow+N−1</c>; one thread per element.
    /// A library kernel: the writer of the bf16 key cache that <c>IndexerScores&lt;Bf16Rows&gt;</c> reads (Kernels/README.md).
    /// </summary>
    [Kernel(Grid = "(tokenCount * dim + 255) / 256", GroupSize = "256")]
    public static void StoreIndexKeysBf16(
        ArrayView<float> keys,         // [N, D] new index keys
        ArrayView<ushort> cache,       // [capacity, D] bf16 out
        int tokenCount,
        int dim,
        int firstRow)
    {
        long i = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        if (i >= (long)tokenCount * dim)
            return;
        cache[(long)firstRow * dim + i] = Bf16.FromFloat(keys[i]);
    }
}
