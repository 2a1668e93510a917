using ILGPU;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Which activation rows (items) a launch group of the tensor-core kernels multiplies and by which matrix of a stack:
/// consecutive rows (<see cref="BatchItems"/>: a decode batch, a prompt's tokens), or the slots of one routed expert per
/// group (<see cref="ExpertSlotItems"/>). Item i's outputs go to output[i, ·] either way. The decode GEMV
/// (<see cref="GemvKernels.TensorCoreGemv{TWeights, TItems}"/>) reads each item's row where <see cref="InputStart"/>
/// says; the prompt GEMM (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>) stages a group's rows
/// as one block, so there they must follow each other in the input (row i at i·cols: no token rows).
/// </summary>
public interface IItemGroups<TSelf> where TSelf : struct, IItemGroups<TSelf>
{
    /// <summary>The items of launch group <paramref name="group"/> (at most <paramref name="groupItems"/>): [First, End)
    /// times matrix <see cref="ItemRange.Matrix"/>; First &lt; 0 where the group has none.</summary>
    ItemRange Range(int group, int groupItems);

    /// <summary>Where item <paramref name="item"/>'s activations start in the input.</summary>
    long InputStart(int item, int cols);
}

/// <summary>Items [First, End) of a group, multiplied by matrix <see cref="Matrix"/> of the weight stack.</summary>
public readonly struct ItemRange(int first, int end, int matrix)
{
    public readonly int First = first;
    public readonly int End = end;
    public readonly int Matrix = matrix;
}

/// <summary>A decode batch: item b is input row b, groups take consecutive runs of items, one matrix.</summary>
public readonly struct BatchItems(int batch) : IItemGroups<BatchItems>
{
    public readonly int Batch = batch;

    public ItemRange Range(int group, int groupItems) =>
        new(group * groupItems, Math.Min(Batch, (group + 1) * groupItems), 0);

    public long InputStart(int item, int cols) => (long)item * cols;
}

/// <summary>
/// The routed experts' slots (<see cref="Moe.MoeKernels.PermuteByExpert"/>): group g covers slots
/// [GroupFirst[g], GroupEnd[g]) of one expert (<see cref="Moe.MoeKernels.ExpertItemGroups"/>) and multiplies that
/// expert's matrix. A slot's activations are its own row of the input (<see cref="TokenRows"/> empty: the down
/// projection over [slots, I]) or its token's row (the gate and up projections over [tokens, H]: token = pair / topk).
/// </summary>
public readonly struct ExpertSlotItems(ArrayView<int> groupFirst, ArrayView<int> groupEnd, ArrayView<int> slotExperts,
    ArrayView<int> tokenRows, int topk) : IItemGroups<ExpertSlotItems>
{
    public readonly ArrayView<int> GroupFirst = groupFirst;   // [G] −1: no slots
    public readonly ArrayView<int> GroupEnd = groupEnd;       // [G]
    public readonly ArrayView<int> SlotExperts = slotExperts; // [slots]
    public readonly ArrayView<int> TokenRows = tokenRows;     // [slots] slot → pair (token·topk + k), or empty
    public readonly int Topk = topk;

    /// <summary>Slots whose activations are their own rows of the input, slot order (no token rows): the form the
    /// prompt GEMM reads, and the GEMV's down projection.</summary>
    public static ExpertSlotItems OwnRows(ArrayView<int> groupFirst, ArrayView<int> groupEnd, ArrayView<int> slotExperts) =>
        new(groupFirst, groupEnd, slotExperts, default, 1);

    public ItemRange Range(int group, int groupItems)
    {
        int first = GroupFirst[group];
        return first < 0 ? new ItemRange(-1, -1, 0) : new ItemRange(first, GroupEnd[group], SlotExperts[first]);
    }

    public long InputStart(int item, int cols) =>
        (TokenRows.Length == 0 ? item : TokenRows[item] / Topk) * (long)cols;
}
