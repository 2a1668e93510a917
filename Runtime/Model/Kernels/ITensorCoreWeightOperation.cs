using KernelSharp.Kernels.Formats;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Something launched on a stored-format weight (bf16, FP8 with block scales) that the tensor cores can read
/// (<see cref="ITensorCoreRows{TSelf}"/>): <see cref="KernelWeight.ApplyTensorCore"/> calls <see cref="Run"/> with the
/// weight's rows as their format struct. fp32 weights have no such form and never reach it.
/// </summary>
internal interface ITensorCoreWeightOperation
{
    void Run<TWeights>(TWeights weights) where TWeights : struct, ITensorCoreRows<TWeights>;
}
