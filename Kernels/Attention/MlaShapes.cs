namespace KernelSharp.Kernels.Attention;

/// <summary>Launch-time checks of the MLA attention kernels' shape limits, with one-line messages.</summary>
public static class MlaShapes
{
    /// <summary>Throws <see cref="ArgumentException"/> when the kernels cannot serve these dimensions.</summary>
    public static void Validate(int heads, int latentDim, int ropeDim)
    {
        if (heads < 1)
            throw new ArgumentException($"MLA attention: num_attention_heads must be ≥ 1, got {heads}");
        if (latentDim < 4 || latentDim % 4 != 0 || latentDim > MlaTile.MaxLatentDim)
            throw new ArgumentException($"MLA attention: kv_lora_rank must be a multiple of 4 in 4..{MlaTile.MaxLatentDim}, got {latentDim}");
        if (ropeDim < 0 || ropeDim % 4 != 0)
            throw new ArgumentException($"MLA attention: qk_rope_head_dim must be a non-negative multiple of 4, got {ropeDim}");
    }

    /// <summary>Softmax scale of DSA.md §3 step 4: (nope+rope)^-0.5 · m², m the YaRN mscale (1 without YaRN).</summary>
    public static float SoftmaxScale(int nopeDim, int ropeDim, double mscale = 1.0) =>
        (float)(mscale * mscale / Math.Sqrt(nopeDim + ropeDim));
}
