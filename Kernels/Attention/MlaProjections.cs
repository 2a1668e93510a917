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
    /// <summary>One thread per (query·head, output element); elements past L copy q_pe.</summary>
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + ropeDim + 127) / 128", GroupSize = "128")]
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
            value = q[qStart + nopeDim + (e - latentDim)];
        }
        queries[(long)row * (latentDim + ropeDim) + e] = value;
    }

    /// <summary>q_abs[h, e] = Σ_n q_nope[h, n]·W[firstRow + n, e] (W's rows of head h's k_nope, column e).</summary>
    private static float AbsorbedElement<TWeights>(ArrayView<float> q, long qStart, TWeights kvB, int firstRow, int e, int nopeDim, int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        float value = 0f;
        for (int n = 0; n < nopeDim; n++)
            value += q[qStart + n] * kvB.Element(firstRow + n, latentDim, e);
        return value;
    }

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
