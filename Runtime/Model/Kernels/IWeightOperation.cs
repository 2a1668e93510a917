using KernelSharp.Kernels.Formats;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Something launched on a weight matrix, written once for every storage format: <see cref="KernelWeight.Apply"/> calls
/// <see cref="Run"/> with the weight's rows as their format struct, so the generic kernels (GEMV, GEMM, grouped experts,
/// embedding) are specialized for it and the runtime never switches on the format.
/// </summary>
internal interface IWeightOperation
{
    void Run<TWeights>(TWeights weights) where TWeights : struct, IRowFormat<TWeights>;
}
