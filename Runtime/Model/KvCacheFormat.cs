using KernelSharp.Kernels.Formats;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// How a sequence's caches (the MLA latent c and k_pe, and the indexer key, per token and layer) are stored; chosen once,
/// when the model is loaded.
/// </summary>
public enum KvCacheFormat
{
    /// <summary>
    /// fp32: (kv_lora_rank + qk_rope_head_dim + index_head_dim) · 4 bytes per token and layer (2304 + 512 B at
    /// DeepSeek-V3.2's widths).
    /// </summary>
    Fp32,

    /// <summary>
    /// DeepSeek-V3.2's FP8 layout: the latent in e4m3 with one fp32 scale per 128 values and k_pe in bf16
    /// (<see cref="Fp8LatentRows"/>, 656 B), the indexer key in e4m3 with one fp32 scale (<see cref="Fp8RowScaledRows"/>,
    /// 132 B): 788 B per token and layer. Kernel backends only.
    /// </summary>
    Fp8,
}
