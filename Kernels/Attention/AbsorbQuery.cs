using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// The two projections around absorbed MLA attention, with <c>W = kv_b_proj.weight</c> viewed
/// <c>[H, nope+v, L]</c> (rows of head h: nope rows of k_nope, then v rows of v):
/// <list type="bullet">
/// <item><see cref="MlaKernels.AbsorbQuery"/>: <c>q_abs[h] = q_nope[h]·W[h, :nope, :]</c>, written next to the
/// head's <c>q_pe</c> as the attention kernels' query row <c>[q_abs ‖ q_pe]</c>;</item>
/// <item><see cref="MlaKernels.UpProjectOutput"/>: <c>o[h] = o_lat[h]·W[h, nope:, :]ᵀ</c>, the input of o_proj.</item>
/// </list>
/// Per-head GEMVs with a weight of nope×L and v×L: small next to attention, so plain loops, W in any row format
/// (<see cref="IRowFormat{TSelf}"/>: the runtime keeps kv_b_proj in fp32; an FP8 checkpoint's is dequantized once at load). Prefill-sized batches of the same products are
/// batched GEMMs and may go through Linear instead.
/// </summary>
public static partial class MlaKernels
{
    /// <summary>One group per (query·head, 128 output elements), 4 elements per lane, the nope rows shared by the warps
    /// (<see cref="AbsorbedPartial"/>); elements past L copy q_pe.</summary>
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + ropeDim + 127) / 128", GroupSize = "128", HostGroup = nameof(AbsorbQueryHost),
        HostGroupSpanY = AbsorbTilesPerCall)]
    public static void AbsorbQuery<TWeights>(
        ArrayView<float> q,        // [Q, H, nope+R] q_b_proj output after RoPE, per head [q_nope ‖ q_pe]
        TWeights kvB,              // [H·(nope+v), L] kv_b_proj.weight
        ArrayView<float> queries,  // [Q, H, L+R] out: per head [q_abs ‖ q_pe]
        int queryCount,
        int heads,
        int nopeDim,
        int ropeDim,
        int valueDim,
        int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int row = Grid.IdxX;  // query·heads + head
        int thread = Group.IdxX;
        int lane = thread % KsWarp.Size;
        int warp = thread / KsWarp.Size;
        int warps = Group.DimX / KsWarp.Size;
        int first = Grid.IdxY * 128 + lane * 4; // this lane's 4 output elements
        long qStart = (long)row * (nopeDim + ropeDim);
        var warpSums = SharedMemory.Allocate<float>(4 * 128); // [threads, 4]
        StoreWarpShare(warpSums, thread, AbsorbedPartial(q, qStart, kvB, row % heads * (nopeDim + valueDim), first, nopeDim, latentDim, warp, warps));
        KsGroup.Barrier();
        if (warp == 0)
        {
            for (int k = 0; k < 4; k++)
            {
                int e = first + k;
                if (e < latentDim)
                {
                    queries[(long)row * (latentDim + ropeDim) + e] = WarpSharesSum(warpSums, lane, k, warps);
                }
                else if (e < latentDim + ropeDim)
                {
                    queries[(long)row * (latentDim + ropeDim) + e] = q[qStart + nopeDim + (e - latentDim)];
                }
            }
        }
    }
}
