using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// kv_b_proj ([H·(nope+v), L], any stored format) as the B operands of a prompt's per-head tensor-core GEMMs, in bf16:
    /// absorbKeys[h, l, d] = W[h·(nope+v) + d, l] (W_UK of head h transposed, so q_abs = q_nope · W_UK is A · Bᵀ like every
    /// Linear), valueRows[h, j, l] = W[h·(nope+v) + nope + j, l] (W_UV of head h as stored). Each value is the format's
    /// <see cref="IRowFormat{TSelf}.Element"/> (the block scale applied for FP8) rounded to bf16, the rounding
    /// <see cref="Linear.TensorCoreGemmKernels.WidenFp8WeightsToBf16"/> makes; bf16 weights come out unchanged. Made per
    /// prompt chunk: H·(nope+v)·L·2 bytes (4 MB for mid-5b's 16 heads), far less than the GEMMs read.
    /// </summary>
    [Kernel(Grid = "(int)(((long)heads * (nopeDim + valueDim) * latentDim + 255) / 256)", GroupSize = "256")]
    public static void KvbHeadsToBf16<TWeights>(
        TWeights kvB,                 // [H·(nope+v), L] kv_b_proj.weight
        ArrayView<ushort> absorbKeys, // [H, L, nope] out: W_UKᵀ per head, bf16
        ArrayView<ushort> valueRows,  // [H, v, L] out: W_UV per head, bf16
        int heads,
        int nopeDim,
        int valueDim,
        int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        long i = (long)Grid.IdxX * 256 + Group.IdxX;
        long keyElements = (long)heads * latentDim * nopeDim;
        if (i < keyElements)
        {
            int d = (int)(i % nopeDim);
            long rest = i / nopeDim; // h·L + l
            int l = (int)(rest % latentDim);
            int h = (int)(rest / latentDim);
            absorbKeys[i] = Bf16.FromFloat(kvB.Element(h * (nopeDim + valueDim) + d, latentDim, l));
            return;
        }
        long j = i - keyElements;
        if (j >= (long)heads * valueDim * latentDim)
            return;
        int column = (int)(j % latentDim);
        long valueRow = j / latentDim; // h·v + row
        int head = (int)(valueRow / valueDim);
        valueRows[j] = Bf16.FromFloat(kvB.Element(head * (nopeDim + valueDim) + nopeDim + (int)(valueRow % valueDim), latentDim, column));
    }
}
