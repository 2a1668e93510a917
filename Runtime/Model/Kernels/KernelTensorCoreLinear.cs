using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The opt-in tensor-core prefill Linear (<see cref="PrefillMatmul.TensorCores"/>), as transformers' bf16 prefill
/// computes it: the fp32 activations are rounded to bf16 (one memory-bound pass, ~1% of the GEMM's time at prefill
/// sizes) and multiplied with the stored bf16 / FP8 weights by the tensor-core GEMM (mma.sync bf16 → fp32 sums),
/// into the same fp32 output the exact path writes. Rounding x to bf16 moves each product by up to 2^-9 relative,
/// so outputs change by ~1e-3 relative; the exact SIMT GEMM stays the default. The attention, indexer, norms and
/// everything else of the prefill keep fp32 activations.
/// </summary>
internal static class KernelTensorCoreLinear
{
    /// <summary>
    /// output [T, out] = bf16(input [T, in]) · weightᵀ [out, in] when the weight is bf16 or FP8 (returns true);
    /// returns false, doing nothing, for fp32 weights, which the caller multiplies exactly.
    /// </summary>
    public static bool TryLinearInto(KernelStorage storage, KernelTensor input, Tensor weight, KernelTensor output)
    {
        if (weight is not KernelWeight native || input.Rows == 0 || weight.Rows == 0)
            return false;

        var device = storage.Device;
        int tokens = input.Rows, outFeatures = native.Rows, inFeatures = native.Columns;
        using var activations = storage.Buffer<ushort>(input.Length); // [T, in] bf16
        TensorKernels.LaunchToBf16(device, input.View, activations.View, checked((int)input.Length));
        var a = activations.View.SubView(0, input.Length);              // [T, in] bf16, exactly T·in long
        if (native.Format == NativeMatrixFormat.Bf16)
        {
            TensorCoreGemmKernels.LaunchTensorCoreGemmBf16(device, a, native.Bf16, output.View, tokens, outFeatures, inFeatures);
        }
        else
        {
            TensorCoreGemmKernels.LaunchTensorCoreGemmFp8(device, a, native.Fp8, native.ScaleInv, output.View, tokens, outFeatures, inFeatures);
        }

        return true;
    }
}
