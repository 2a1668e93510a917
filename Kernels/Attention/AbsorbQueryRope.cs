using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// <see cref="AbsorbQuery"/> that also applies the query's rope: q_pe arrives unrotated and is written rotated
    /// (interleaved pairs, query i at table row positions[i]), saving the separate rope pass over q.
    /// </summary>
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + ropeDim + 127) / 128", GroupSize = "128", HostGroup = nameof(AbsorbQueryRopeHost),
        HostGroupSpanY = AbsorbTilesPerCall)]
    public static void AbsorbQueryRope<TWeights>(
        ArrayView<float> q,         // [Q, H, nope+R] q_b_proj output, per head [q_nope ‖ q_pe], q_pe not rotated
        TWeights kvB,               // [H·(nope+v), L] kv_b_proj.weight
        ArrayView<float> queries,   // [Q, H, L+R] out: per head [q_abs ‖ rope(q_pe)]
        ArrayView<int> positions,   // [Q] cos/sin row of each query
        ArrayView<float> cos,       // [positions, R/2]
        ArrayView<float> sin,       // [positions, R/2]
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
                    int j = e - latentDim;
                    bool firstOfPair = (j & 1) == 0;
                    float own = q[qStart + nopeDim + j];
                    float other = q[qStart + nopeDim + (firstOfPair ? j + 1 : j - 1)];
                    long table = (long)positions[row / heads] * (ropeDim / 2) + j / 2;
                    // (a, b) → (a·cos − b·sin, b·cos + a·sin)
                    queries[(long)row * (latentDim + ropeDim) + e] = firstOfPair ? own * cos[table] - other * sin[table] : own * cos[table] + other * sin[table];
                }
            }
        }
    }
}
