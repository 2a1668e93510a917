namespace KernelSharp.Runtime.Model;

/// <summary>How the linear layers of a prefill (more than a few rows at once) multiply on a GPU kernel backend.</summary>
public enum PrefillMatmul
{
    /// <summary>fp32 activations times the stored bf16 / FP8 weights, fp32 sums: matches the float32 reference to ~1e-6.</summary>
    Exact,

    /// <summary>
    /// Activations rounded to bf16, multiplied on the tensor cores (mma.sync bf16 → fp32), as transformers' bf16 prefill
    /// does: many times faster on a GPU, logits move by ~1e-3 relative. Decode rows and fp32 weights stay exact.
    /// </summary>
    TensorCores,
}
