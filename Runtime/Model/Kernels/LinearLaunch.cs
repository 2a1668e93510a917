using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// output [T, out] = input [T, in] · weightᵀ [out, in] in the weight's format, fp32 activations and sums: a GEMV for
/// decode rows (the warp-per-rows form on GPUs: measured on the H200, docs/perf/h200-table.md, as fast as the
/// group-per-row form on large shapes and faster on expert shapes and FP8; the CPU paths keep the group-per-row form,
/// whose generated CPU path is one dot product per row), the tiled SIMT GEMM for prefill.
/// </summary>
internal readonly struct LinearLaunch(KernelDevice device, KernelTensor input, KernelTensor output, int rows, int columns, bool decode, bool warpRows)
    : IWeightOperation
{
    public void Run<TWeights>(TWeights weights) where TWeights : struct, IRowFormat<TWeights>
    {
        int batch = input.Rows;
        if (!decode)
            GemmKernels.LaunchGemm(device, input.View, weights, output.View, batch, rows, columns);
        else if (warpRows)
            GemvKernels.LaunchGemvRows(device, weights, input.View, output.View, rows, columns, batch, batch >= 4 ? 4 : 1);
        else
            GemvKernels.LaunchGemv(device, weights, input.View, output.View, rows, columns, batch);
    }
}
