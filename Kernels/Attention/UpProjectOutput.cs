using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>One warp per (query·head, value element): a dot product of o_lat with one row of W, the lanes on consecutive
    /// 16-byte chunks of the row.</summary>
    /// <remarks>
    /// A decode step has (heads × value) outputs; one thread per output, walking its own row, gave 16 groups and a
    /// latency-bound loop (33 µs per layer on an H100 for 16 heads), where a warp per row reads it coalesced.
    /// </remarks>
    [Kernel(Grid = "queryCount * heads", GridY = "(valueDim + 3) / 4", GroupSize = "128", HostGroup = nameof(UpProjectOutputHost),
        HostGroupSpanY = UpProjectGroupsPerCall)]
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
        int lane = KsWarp.LaneIdx;
        int v = Grid.IdxY * 4 + Group.IdxX / KsWarp.Size; // 4 warps, 4 value elements per group
        int head = row % heads;
        float partial = v < valueDim
            ? kvB.StridedRowDot(head * (nopeDim + valueDim) + nopeDim + v, latentDim, latentOutput, (long)row * latentDim, lane, KsWarp.Size)
            : 0f;
        float total = KsWarp.Sum(partial);
        if (lane == 0 && v < valueDim)
            output[(long)row * valueDim + v] = total;
    }
}
