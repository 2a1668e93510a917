using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The tensor-core prefill Linear (<see cref="PrefillMatmul.TensorCores"/>, the default on CUDA), as transformers' bf16 prefill
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

        using var activations = storage.Buffer<ushort>(input.Length); // [T, in] bf16
        TensorKernels.LaunchToBf16(storage.Device, input.View, activations.View, checked((int)input.Length));
        var launch = new TensorCoreLaunch(storage, activations.View.SubView(0, input.Length), output, input.Rows, native.Rows, native.Columns);
        native.ApplyTensorCore(ref launch);
        return true;
    }

    /// <summary>
    /// From this many rows on, an FP8 weight is widened to a bf16 copy (<see cref="TensorCoreGemmKernels.WidenFp8WeightsToBf16"/>)
    /// and multiplied by the bf16 GEMM, which gives the same bits as the FP8 GEMM. On the H200 table the FP8 kernel ran at
    /// 173 TFLOP/s against the bf16 one's 310–329 (4096 rows): converting in the GEMM costs half its speed. The copy costs
    /// 3 bytes per weight, about as long as the bf16 GEMM needs for ~150 rows; at 512 rows it is a quarter of the GEMM, so
    /// the pair is ~1.5× faster than the FP8 kernel there, and more on longer prompts. Below, the FP8 kernel runs.
    /// </summary>
    public const int WidenFp8MinRows = 512;

    /// <summary>
    /// The tensor-core GEMM (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/> over the tokens in
    /// groups of 128, group tile and pipeline depth picked by the autotuner) on the weight as stored; for long prompts
    /// an FP8 weight is widened to bf16 first (<see cref="WidenFp8MinRows"/>). fp32 weights never get here (<see
    /// cref="TryLinearInto"/> takes stored weights only).
    /// </summary>
    private readonly struct TensorCoreLaunch(KernelStorage storage, ArrayView<ushort> a, KernelTensor output, int tokens, int outFeatures, int inFeatures)
        : ITensorCoreWeightOperation
    {
        public void Run<TWeights>(TWeights weights) where TWeights : struct, ITensorCoreRows<TWeights>
        {
            var device = storage.Device;
            if (weights is Fp8BlockRows fp8 && tokens >= WidenFp8MinRows)
            {
                using var widened = storage.Buffer<ushort>((long)outFeatures * inFeatures); // [out, in] bf16
                var bits = widened.View.SubView(0, (long)outFeatures * inFeatures);
                TensorCoreGemmKernels.LaunchWidenFp8WeightsToBf16(device, fp8.Codes, fp8.ScaleInv, bits, outFeatures, inFeatures);
                Multiply(device, new Bf16Rows(bits));
                return;
            }
            Multiply(device, weights);
        }

        private void Multiply<TWeights>(KernelDevice device, TWeights weights) where TWeights : struct, ITensorCoreRows<TWeights>
            => TensorCoreGemmKernels.LaunchTensorCoreGemm(device, a, weights, new BatchItems(tokens), output.View,
                (tokens + TensorCoreGemmKernels.GroupRows - 1) / TensorCoreGemmKernels.GroupRows, outFeatures, inFeatures);
    }
}
