using KernelSharp.Kernels.Formats;

namespace KernelSharp.Runtime.Model;

/// <summary>How a sequence's MLA latent cache (c and k_pe per token and layer) is stored; chosen once, when the model is loaded.</summary>
public enum KvCacheFormat
{
    /// <summary>fp32: (kv_lora_rank + qk_rope_head_dim) · 4 bytes per token and layer (2304 B at DeepSeek-V3.2's widths).</summary>
    Fp32,

    /// <summary>
    /// DeepSeek-V3.2's FP8 layout (<see cref="Fp8LatentRows"/>): the latent in e4m3 with one fp32 scale per 128 values and
    /// k_pe in bf16, 656 B per token and layer. Kernel backends only.
    /// </summary>
    Fp8,
}
