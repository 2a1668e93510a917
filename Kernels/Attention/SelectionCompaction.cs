using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Turns a selection with empty (−1) or not-yet-visible slots into the (rows, counts) form
/// <see cref="MlaKernels.SparseMlaAttention"/> reads: per query the keys j with 0 ≤ j ≤ positions[q], in slot order.
/// One thread per query.
/// </summary>
public static partial class SelectionKernels
{
    [Kernel(Grid = "(queryCount + 63) / 64", GroupSize = "64")]
    public static void CompactSelection(
        ArrayView<int> selected,   // [Q, k] key indices, −1 = empty slot
        ArrayView<int> positions,  // [Q] the query's own position (it sees keys 0..positions[q])
        ArrayView<int> compacted,  // [Q, k] out: the visible keys first; the rest untouched
        ArrayView<int> counts,     // [Q] out: number of visible keys
        int queryCount,
        int k)
    {
        int q = Grid.IdxX * 64 + Group.IdxX;
        if (q >= queryCount)
            return;
        int position = positions[q];
        int count = 0;
        for (int i = 0; i < k; i++)
        {
            int key = selected[(long)q * k + i];
            if (key >= 0 && key <= position)
            {
                compacted[(long)q * k + count] = key;
                count++;
            }
        }
        counts[q] = count;
    }
}
