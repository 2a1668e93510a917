using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Tensors;

namespace KernelSharp.Kernels.TopK;

/// <summary>
/// Runs the long-row top-k sequence (<see cref="TopKKernels.TopKRowPass"/> × 4, <see cref="TopKKernels.TopKRowCount"/>,
/// <see cref="TopKKernels.TopKRowWrite"/>) on one row. Same result as <see cref="TopKKernels.LaunchTopKSelect"/> with
/// one row; seven launches instead of one, each spread over length/1024 groups.
/// </summary>
public static class TopKLongRow
{
    /// <param name="scores">[length] one row; −∞/NaN = masked.</param>
    /// <param name="indices">[k] out: selected indices ascending; entries past count untouched.</param>
    /// <param name="count">[1] out: min(k, valid keys).</param>
    /// <param name="workspace">[<see cref="TopKKernels.TopKRowWorkspaceLength"/>(length)] scratch, overwritten.</param>
    public static void Launch(KernelDevice device, ArrayView<float> scores, ArrayView<int> indices, ArrayView<int> count,
        ArrayView<int> workspace, int length, int k)
    {
        TopKShapes.Validate(length, k);
        if (workspace.Length < TopKKernels.TopKRowWorkspaceLength(length))
            throw new ArgumentException($"top-k: the long-row workspace holds {workspace.Length} ints, {TopKKernels.TopKRowWorkspaceLength(length)} needed for {length} keys");
        if (length == 0)
        {
            TensorKernels.LaunchFillInt(device, count, 0, 1);
            return;
        }
        TensorKernels.LaunchFillInt(device, workspace, 0, TopKKernels.TopKRowStateBase); // the four histograms
        for (int pass = 0; pass < 4; pass++)
            TopKKernels.LaunchTopKRowPass(device, scores, workspace, length, k, pass);
        TopKKernels.LaunchTopKRowCount(device, scores, workspace, length, k);
        TopKKernels.LaunchTopKRowWrite(device, scores, indices, count, workspace, length);
    }
}
