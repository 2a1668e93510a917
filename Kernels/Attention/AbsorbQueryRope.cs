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
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + ropeDim + 127) / 128", GroupSize = "128")]
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
        int e = Grid.IdxY * Group.DimX + Group.IdxX;
        if (e >= latentDim + ropeDim)
            return;
        int head = row % heads;
        long qStart = (long)row * (nopeDim + ropeDim);
        float value;
        if (e < latentDim)
        {
            value = AbsorbedElement(q, qStart, kvB, head * (nopeDim + valueDim), e, nopeDim, latentDim);
        }
        else
        {
            int j = e - latentDim;
            bool first = (j & 1) == 0;
            float own = q[qStart + nopeDim + j];
            float other = q[qStart + nopeDim + (first ? j + 1 : j - 1)];
            long table = (long)positions[row / heads] * (ropeDim / 2) + j / 2;
            // (a, b) → (a·cos − b·sin, b·cos + a·sin)
            value = first ? own * cos[table] - other * sin[table] : own * cos[table] + other * sin[table];
        }
        queries[(long)row * (latentDim + ropeDim) + e] = value;
    }
}
