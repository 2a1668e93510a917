using System.Numerics.Tensors;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Host forms (<c>[Kernel(HostGroup = ...)]</c>) of the MLA projections, which the generated CPU path calls once per group
/// instead of emulating the group's 128 threads.
/// </summary>
/// <remarks>
/// The GPU shape of these kernels (four warps sharing partial sums through shared memory, 4-value reads per lane) is what
/// a GPU needs and what a host runs worst: one emulated thread after another, each with scalar reads. A 64-token prefill
/// profile on 2 cores had <see cref="AbsorbQueryRope"/> and <see cref="UpProjectOutput"/> at 40% of the attention time. On
/// the host a group is a few vectorized passes over contiguous weight rows.
/// </remarks>
public static partial class MlaKernels
{
    private const int AbsorbTile = 128;     // output elements per AbsorbQuery(Rope) group
    private const int ValuesPerGroup = 4;   // value elements per UpProjectOutput group

    // Groups one host call computes (the kernels' HostGroupSpanY): a decode step's groups are a few hundred scaled row
    // additions each, so per-group calls and hand-offs cost as much as the arithmetic. 8 absorb tiles hold a whole
    // DeepSeek-V3.2 query row (512 + 64); 16 value groups a whole head of 64 values.
    private const int AbsorbTilesPerCall = 8;
    private const int UpProjectGroupsPerCall = 16;

    /// <summary>The groups (row = query·heads + head, tiles tile … tile + 7) of <see cref="AbsorbQueryRope{TWeights}"/> on the host.</summary>
    private static void AbsorbQueryRopeHost<TWeights>(ArrayView<float> q, TWeights kvB, ArrayView<float> queries, ArrayView<int> positions,
        ArrayView<float> cos, ArrayView<float> sin, int queryCount, int heads, int nopeDim, int ropeDim, int valueDim, int latentDim,
        int row, int tile)
        where TWeights : struct, IRowFormat<TWeights>
    {
        long qStart = (long)row * (nopeDim + ropeDim);
        long outStart = (long)row * (latentDim + ropeDim);
        int start = tile * AbsorbTile;
        int ropeEnd = Math.Min(start + AbsorbTilesPerCall * AbsorbTile, latentDim + ropeDim);
        AbsorbedElementsHost(q, qStart, kvB, row % heads * (nopeDim + valueDim), start, ropeEnd, nopeDim, latentDim, queries, outStart);
        for (int e = Math.Max(start, latentDim); e < ropeEnd; e++)
        {
            int j = e - latentDim;
            bool firstOfPair = (j & 1) == 0;
            float own = q[qStart + nopeDim + j];
            float other = q[qStart + nopeDim + (firstOfPair ? j + 1 : j - 1)];
            long table = (long)positions[row / heads] * (ropeDim / 2) + j / 2;
            // (a, b) → (a·cos − b·sin, b·cos + a·sin), as the kernel writes it
            queries[outStart + e] = firstOfPair ? own * cos[table] - other * sin[table] : own * cos[table] + other * sin[table];
        }
    }

    /// <summary>The groups (row = query·heads + head, tiles tile … tile + 7) of <see cref="AbsorbQuery{TWeights}"/> on the host.</summary>
    private static void AbsorbQueryHost<TWeights>(ArrayView<float> q, TWeights kvB, ArrayView<float> queries, int queryCount, int heads,
        int nopeDim, int ropeDim, int valueDim, int latentDim, int row, int tile)
        where TWeights : struct, IRowFormat<TWeights>
    {
        long qStart = (long)row * (nopeDim + ropeDim);
        long outStart = (long)row * (latentDim + ropeDim);
        int start = tile * AbsorbTile;
        int ropeEnd = Math.Min(start + AbsorbTilesPerCall * AbsorbTile, latentDim + ropeDim);
        AbsorbedElementsHost(q, qStart, kvB, row % heads * (nopeDim + valueDim), start, ropeEnd, nopeDim, latentDim, queries, outStart);
        for (int e = Math.Max(start, latentDim); e < ropeEnd; e++)
            queries[outStart + e] = q[qStart + nopeDim + (e - latentDim)];
    }

    /// <summary>
    /// queries[outStart + e] = Σ_n q[qStart + n]·W[firstRow + n, e] for e ∈ [tileStart, tileEnd) ∩ [0, latentDim),
    /// as nopeDim scaled additions of W's contiguous row pieces (the kernel reads the same rows column-wise). A query's
    /// values depend on nothing but its own row.
    /// </summary>
    private static void AbsorbedElementsHost<TWeights>(ArrayView<float> q, long qStart, TWeights kvB, int firstRow, int tileStart, int tileEnd,
        int nopeDim, int latentDim, ArrayView<float> queries, long outStart)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int end = Math.Min(tileEnd, latentDim);
        if (end <= tileStart)
            return;
        int width = end - tileStart;
        Span<float> sums = HostSpan.Of(queries, outStart + tileStart, width);
        sums.Clear();
        ReadOnlySpan<float> queryNope = HostSpan.Of(q, qStart, nopeDim);
        for (int n = 0; n < nopeDim; n++)
            TensorPrimitives.MultiplyAdd(HostRowDots.RowAsFloats(kvB, firstRow + n, latentDim).Slice(tileStart, width), queryNope[n], sums, sums);
    }

    /// <summary>
    /// The groups (row, value tiles tile … tile + 15) of <see cref="UpProjectOutput{TWeights}"/> on the host: the groups of
    /// query 0 and head h = row compute their 4 value elements each of head h for every query, reading each kv_b value row once for all of
    /// them (<see cref="HostRowDots.RowTimesItems{TWeights}"/>, 4 queries a pass, a query's sum the same whatever the
    /// others); the groups of the other queries have nothing left to do.
    /// </summary>
    private static void UpProjectOutputHost<TWeights>(ArrayView<float> latentOutput, TWeights kvB, ArrayView<float> output,
        int queryCount, int heads, int nopeDim, int valueDim, int latentDim, int row, int tile)
        where TWeights : struct, IRowFormat<TWeights>
    {
        if (row >= heads)
            return;
        int head = row;
        int stride = heads * latentDim; // from one query's o_lat of this head to the next query's
        Span<float> sums = stackalloc float[HostRowDots.ItemBlock];
        int valueEnd = Math.Min((tile + UpProjectGroupsPerCall) * ValuesPerGroup, valueDim);
        for (int v = tile * ValuesPerGroup; v < valueEnd; v++)
        {
            int weightRow = head * (nopeDim + valueDim) + nopeDim + v;
            for (int first = 0; first < queryCount; first += HostRowDots.ItemBlock)
            {
                int items = Math.Min(HostRowDots.ItemBlock, queryCount - first);
                long start = ((long)first * heads + head) * latentDim;
                HostRowDots.RowTimesItems(kvB, weightRow, latentDim, latentOutput, start, stride, items, sums);
                for (int i = 0; i < items; i++)
                    output[((long)(first + i) * heads + head) * valueDim + v] = sums[i];
            }
        }
    }
}
