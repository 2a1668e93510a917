using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>One thread per (query·head, value element): a dot product of o_lat with one row of W.</summary>
    [Kernel(Grid = "queryCount * heads", GridY = "(valueDim + 127) / 128", GroupSize = "128")]
    public static void UpProjectOutput<TWeights>(
        ArrayView<float> latentOutput, // [Q, H, L] o_lat from the attention kernels
        TWeights kvB,                  // [H·(nope+v), L] kv_b_proj.weight
        ArrayView<float> output,       // [Q, H·v] out: o_proj's input
        int queryCount,
        int heads,
        int nopeDim,
        int valueDim,
        int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int row = Grid.IdxX;
        int v = Grid.IdxY * Group.DimX + Group.IdxX;
        if (v >= valueDim)
            return;
        int head = row % heads;
        output[(long)row * valueDim + v] = kvB.RowDot(head * (nopeDim + valueDim) + nopeDim + v, latentDim, latentOutput, (long)row * latentDim);
    }
}
