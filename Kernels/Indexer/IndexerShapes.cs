namespace KernelSharp.Kernels.Indexer;

/// <summary>Launch-time checks of the indexer kernels' shape limits, with one-line messages.</summary>
public static class IndexerShapes
{
    /// <summary>Throws <see cref="ArgumentException"/> when <see cref="IndexerKernels.IndexerDecodeFp8"/> cannot serve these dimensions.</summary>
    public static void ValidateDecode(int heads, int dim)
    {
        if (heads < 1 || heads > IndexerKernels.DecodeMaxHeads)
            throw new ArgumentException($"indexer decode: index_n_heads must be in 1..{IndexerKernels.DecodeMaxHeads}, got {heads}");
        if (dim < 1 || dim > IndexerKernels.DecodeMaxDim)
            throw new ArgumentException($"indexer decode: index_head_dim must be in 1..{IndexerKernels.DecodeMaxDim}, got {dim}");
    }
}
