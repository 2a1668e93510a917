using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// Appends N tokens' latent rows <c>[c ‖ k_pe]</c> (fp32, after the latent RMSNorm and RoPE) to a bf16 latent cache
    /// at rows <c>firstRow .. firstRow+N−1</c>, rounding to nearest even; one thread per element.
    /// A library kernel: the writer of the bf16 latent cache <see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/> reads
    /// (the runtime's latent cache is fp32; Kernels/README.md). Not folded with <see cref="StoreKvCacheFp8"/>: that one is
    /// a different algorithm (a group reduction per 128 values for the block scale, then quantizing), not this
    /// element-wise rounding over another format.
    /// </summary>
    [Kernel(Grid = "(tokenCount * rowLength + 255) / 256", GroupSize = "256")]
    public static void StoreKvCacheBf16(
        ArrayView<float> rows,      // [N, L+R] new cache rows
        ArrayView<ushort> kvCache,  // [Tc, L+R] bf16 out
        int tokenCount,
        int rowLength,
        int firstRow)
    {
        long i = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        if (i >= (long)tokenCount * rowLength)
            return;
        kvCache[(long)firstRow * rowLength + i] = Bf16.FromFloat(rows[i]);
    }
}
