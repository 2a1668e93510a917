using ILGPU;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Which activation rows a group of <see cref="GemvKernels.TensorCoreGemv{TWeights, TItems}"/> multiplies and by which
/// matrix of a stack: the rows of a decode batch (<see cref="BatchItems"/>), or the slots of one routed expert
/// (<see cref="ExpertSlotItems"/>). Item i's outputs go to output[i, ·] either way.
/// </summary>
public interface IGemvItems<TSelf> where TSelf : struct, IGemvItems<TSelf>
{
    /// <summary>The items of launch group <paramref name="group"/> (at most <paramref name="groupItems"/>): [First, End)
    /// times matrix <see cref="GemvItemRange.Matrix"/>; First &lt; 0 where the group has none.</summary>
    GemvItemRange Range(int group, int groupItems);

    /// <summary>Where item <paramref name="item"/>'s activations start in the input.</summary>
    long InputStart(int item, int cols);
}

/// <summary>Items [First, End) of a group, multiplied by matrix <see cref="Matrix"/> of the weight stack.</summary>
public readonly struct GemvItemRange(int first, int end, int matrix)
{
    public readonly int First = first;
    public readonly int End = end;
    public readonly int Matrix = matrix;
}

/// <summary>A decode batch: item b is input row b, groups take consecutive runs of items, one matrix.</summary>
public readonly struct BatchItems(int batch) : IGemvItems<BatchItems>
{
    public readonly int Batch = batch;

    public GemvItemRange Range(int group, int groupItems) =>
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
    ArrayView<int> tokenRows, int topk) : IGemvItems<ExpertSlotItems>
{
    public readonly ArrayView<int> GroupFirst = groupFirst;   // [G] −1: no slots
    public readonly ArrayView<int> GroupEnd = groupEnd;       // [G]
    public readonly ArrayView<int> SlotExperts = slotExperts; // [slots]
    public readonly ArrayView<int> TokenRows = tokenRows;     // [slots] slot → pair (token·topk + k), or empty
    public readonly int Topk = topk;

    public GemvItemRange Range(int group, int groupItems)
    {
        int first = GroupFirst[group];
        return first < 0 ? new GemvItemRange(-1, -1, 0) : new GemvItemRange(first, GroupEnd[group], SlotExperts[first]);
    }

    public long InputStart(int item, int cols) =>
        (TokenRows.Length == 0 ? item : TokenRows[item] / Topk) * (long)cols;
}
