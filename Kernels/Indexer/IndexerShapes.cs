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

    /// <summary>True when <see cref="IndexerKernels.IndexerScoresWarpKeys{TKeys}"/> (fp32 cache) can serve these dimensions.</summary>
    public static bool FitsDecodeFp32(int heads, int dim) =>
        heads >= 1 && heads <= IndexerKernels.DecodeMaxHeads && dim >= 1 && dim <= IndexerKernels.DecodeMaxDim && dim % 4 == 0;

    /// <summary>Throws <see cref="ArgumentException"/> when <see cref="IndexerKernels.IndexerScoresWarpKeys{TKeys}"/> (fp32 cache) cannot serve these dimensions.</summary>
    public static void ValidateDecodeFp32(int heads, int dim)
    {
        ValidateDecode(heads, dim);
        if (dim % 4 != 0)
            throw new ArgumentException($"indexer decode: index_head_dim must be a multiple of 4 (16-byte key loads), got {dim}");
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <see cref="IndexerKernels.IndexerDecodeFp8TensorCore"/> cannot serve these dimensions.</summary>
    public static void ValidateDecodeFp8TensorCore(int heads, int dim)
    {
        ValidateDecode(heads, dim);
        if (dim != IndexerKernels.DecodeTcDim)
            throw new ArgumentException($"indexer decode (tensor cores): index_head_dim must be {IndexerKernels.DecodeTcDim}, got {dim}");
    }
}
