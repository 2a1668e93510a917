namespace KernelSharp.Kernels.TopK;

/// <summary>Launch-time checks of <see cref="TopKKernels.TopKSelect"/>'s limits, with one-line messages.</summary>
public static class TopKShapes
{
    /// <summary>Throws <see cref="ArgumentException"/> when the kernel cannot serve this row length or k.</summary>
    public static void Validate(int length, int k)
    {
        if (length < 0 || length >= TopKKernels.MaxRowLength)
            throw new ArgumentException($"top-k: a row must hold 0..{TopKKernels.MaxRowLength - 1} scores, got {length}");
        if (k < 0)
            throw new ArgumentException($"top-k: k (index_topk) must be ≥ 0, got {k}");
    }
}
