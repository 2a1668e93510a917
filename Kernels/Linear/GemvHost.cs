using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// The host's form of a <see cref="GemvKernels.Gemv{TWeights}"/> group of size 1: one weight row against a block of
/// batch items, so that the row is read and widened once per block instead of once per item.
/// </summary>
public static class GemvHost
{
    /// <summary>Batch items one host call multiplies with a weight row.</summary>
    public const int ItemBlock = 4;

    /// <summary>
    /// On the generated CPU path (<see cref="GemvHostCpu.RowItemsCpu{TWeights}"/>): the group of item
    /// <paramref name="item"/> computes output[i, row] for the items i of its block (<see cref="ItemBlock"/> from a multiple
    /// of it) and the other groups of the block write nothing; true either way. Compiled by ILGPU (GPUs, ILGPU's CPU
    /// accelerator) this is a constant false, folded away with its branch, so the kernel's own code is what runs there.
    /// </summary>
    [Intrinsic(CpuBody = nameof(GemvHostCpu.RowItemsCpu))]
    public static bool RowItems<TWeights>(TWeights weight, ArrayView<float> input, ArrayView<float> output, int row, int item,
        int rows, int cols, int batch)
        where TWeights : struct, IRowFormat<TWeights> => false;
}
