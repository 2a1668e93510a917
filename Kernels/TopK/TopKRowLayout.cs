using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.TopK;

/// <summary>
/// Top-k of long rows (a decode step's indexer scores over the whole cache, one row per sequence) with many groups: the same radix
/// select and the same result as <see cref="TopKKernels.TopKSelect"/> (ties → lower index, −∞/NaN masked, output
/// in ascending index order), but every pass spreads the row over slices of <see cref="TopKRowSlice"/> keys, one
/// group each, instead of walking it with one group; grid Y is the row, so a batch of rows is one launch sequence.
/// Launched as a sequence (see <see cref="TopKLongRow.Launch"/>):
/// <list type="number">
/// <item><see cref="TopKRowFirstPass"/>, then <see cref="TopKRowPass"/> × 3: pass p merges per-slice histograms of
/// key byte 3−p into the workspace with atomics; from pass 1 on every group first reads the previous pass's histogram
/// and chooses its bin (the radix prefix so far), the valid count being the sum of pass 0's histogram;</item>
/// <item><see cref="TopKRowCount"/>: chooses the last bin (the threshold key and how many keys equal to it are
/// taken), and counts per slice the keys above / equal to the threshold;</item>
/// <item><see cref="TopKRowWrite"/>: each slice adds up the counts of the slices before it and writes its selected
/// indices at their final positions, in index order.</item>
/// </list>
/// </summary>
/// <remarks>
/// Workspace (ints): <c>[0, 1024)</c> the four 256-bin histograms (zeroed by the launcher), <c>[1024, 1044)</c>
/// the selection state after each pass (prefix, remaining, take; 4 ints per pass), then 2 ints per slice
/// (keys above, keys equal); one such block per row (<see cref="TopKRowWorkspaceLength"/> ints each, row r's at
/// r · that). Every group of a row computes the same state from the same histograms; the row's group 0 stores it.
/// The kernels list <c>[Shape(1)] rows</c> and take row 0 where rows is 1, so a one-row launch (a decode step of one
/// sequence) runs a variant whose row offsets fold away: its first loads wait on no address arithmetic, as in the
/// one-row kernels before rows were batched.
/// </remarks>
public static partial class TopKKernels
{
    /// <summary>Keys per slice (one group) of the long-row kernels: 4 per thread.</summary>
    public const int TopKRowSlice = 1024;

    /// <summary>Threads per group of the long-row kernels (one per histogram bin).</summary>
    public const int TopKRowThreads = RadixBins;

    /// <summary>Keys each thread of <see cref="TopKRowWrite"/> owns (a contiguous run, so its writes keep index order).</summary>
    private const int TopKRowRun = TopKRowSlice / TopKRowThreads;

    /// <summary>Workspace offset of the selection state (4 ints per pass: prefix, remaining, take, unused).</summary>
    public const int TopKRowStateBase = 4 * RadixBins;

    /// <summary>Workspace offset of the per-slice (above, equal) counts.</summary>
    public const int TopKRowSliceCountsBase = TopKRowStateBase + 4 * 5;

    /// <summary>Ints of workspace a row of <paramref name="length"/> keys needs.</summary>
    public static long TopKRowWorkspaceLength(int length) => TopKRowSliceCountsBase + 2L * TopKRowSlices(length);

    /// <summary>Groups of each long-row launch per row.</summary>
    public static int TopKRowSlices(int length) => (length + TopKRowSlice - 1) / TopKRowSlice;

    /// <summary>The workspace block of row <paramref name="row"/>.</summary>
    private static ArrayView<int> RowWorkspace(ArrayView<int> workspaces, int length, int row)
    {
        long rowLength = TopKRowSliceCountsBase + 2L * ((length + TopKRowSlice - 1) / TopKRowSlice);
        return workspaces.SubView(row * rowLength, rowLength);
    }
}
