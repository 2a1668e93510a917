using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Tensors;

namespace KernelSharp.Kernels.TopK;

/// <summary>
/// Runs the long-row top-k sequence (<see cref="TopKKernels.TopKRowFirstPass"/>, <see cref="TopKKernels.TopKRowPass"/> × 3, <see cref="TopKKernels.TopKRowCount"/>,
/// <see cref="TopKKernels.TopKRowWrite"/>) on one row or on a batch of rows (a decode step of several sequences: one
/// score row each). Same result as <see cref="TopKKernels.LaunchTopKSelect"/>; six launches (plus a workspace fill)
/// for the whole batch instead of one, each spread over length/1024 groups per row.
/// </summary>
public static class TopKLongRow
{
    /// <param name="scores">[length] one row; −∞/NaN = masked.</param>
    /// <param name="indices">[k] out: selected indices ascending; entries past count untouched.</param>
    /// <param name="count">[1] out: min(k, valid keys).</param>
    /// <param name="workspace">[<see cref="TopKKernels.TopKRowWorkspaceLength"/>(length)] scratch, overwritten.</param>
    public static void Launch(KernelDevice device, ArrayView<float> scores, ArrayView<int> indices, ArrayView<int> count,
        ArrayView<int> workspace, int length, int k) =>
        Launch(device, scores, indices, count, workspace, 1, length, length, k);

    /// <param name="scores">[rows, rowStride]: row r's <paramref name="length"/> scores start at r·rowStride; −∞/NaN =
    /// masked (a shorter sequence's row ends in −∞).</param>
    /// <param name="indices">[rows, k] out: each row's selected indices ascending; entries past its count untouched.</param>
    /// <param name="counts">[rows] out: min(k, valid keys of the row).</param>
    /// <param name="workspace">[<see cref="WorkspaceLength"/>(rows, length)] scratch, overwritten.</param>
    public static void Launch(KernelDevice device, ArrayView<float> scores, ArrayView<int> indices, ArrayView<int> counts,
        ArrayView<int> workspace, int rows, int length, long rowStride, int k)
    {
        TopKShapes.Validate(length, k);
        if (rows < 1 || rowStride < length)
            throw new ArgumentException($"top-k: {rows} rows of {length} keys with a row stride of {rowStride}: need at least one row and a stride of at least the row length");
        if (workspace.Length < WorkspaceLength(rows, length))
            throw new ArgumentException($"top-k: the long-row workspace holds {workspace.Length} ints, {WorkspaceLength(rows, length)} needed for {rows} rows of {length} keys");
        if (length == 0)
        {
            TensorKernels.LaunchFillInt(device, counts, 0, rows);
            return;
        }
        // The four histograms of every row start at zero; the rest of each row's block is written before it is read.
        TensorKernels.LaunchFillInt(device, workspace, 0, checked((int)WorkspaceLength(rows, length)));
        TopKKernels.LaunchTopKRowFirstPass(device, scores, workspace, rows, length, rowStride);
        for (int pass = 1; pass < 4; pass++)
            TopKKernels.LaunchTopKRowPass(device, scores, workspace, rows, length, rowStride, k, pass);
        TopKKernels.LaunchTopKRowCount(device, scores, workspace, rows, length, rowStride, k);
        TopKKernels.LaunchTopKRowWrite(device, scores, indices, counts, workspace, rows, length, rowStride, k);
    }

    /// <summary>Ints of workspace <paramref name="rows"/> rows of <paramref name="length"/> keys need.</summary>
    public static long WorkspaceLength(int rows, int length) => rows * TopKKernels.TopKRowWorkspaceLength(length);
}
