using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Rope;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The kv_b projections of a prompt chunk on tensor cores, as transformers' bf16 prefill computes them: q_abs = q_nope
/// · W_UK and o = o_lat · W_UVᵀ per head, with the activations and kv_b rounded to bf16 and fp32 sums. Each projection
/// is one tensor-core GEMM launch over all heads (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>
/// on bf16 over <see cref="ExpertSlotItems"/>, with the heads as its experts: head h's rows are slots h·T … h·T + T −
/// 1, <see cref="MoeKernels.UniformItemGroups"/> cuts them into tiles), between a head-major bf16 copy of the
/// activations (<see cref="MlaKernels.HeadsToBf16"/>) and a scatter of the results back to the token-major layouts
/// (<see cref="MlaKernels.ScatterHeads"/>). Why: on CUDA cores (<see cref="MlaKernels.AbsorbQueryRope{TWeights}"/>,
/// <see cref="MlaKernels.UpProjectOutput{TWeights}"/>, one warp per output) they took 22% of an 8K prefill of mid-5b on
/// an H100 (docs/perf/prefill-tensor-cores.md) for 1.1 GFLOP per head and layer. q_pe is rotated separately (<see
/// cref="RopeKernels.RopeCopyRows"/>), in fp32 as before.
/// </summary>
internal sealed class TensorCoreMlaProjections : IDisposable
{
    private readonly KernelStorage storage;
    private readonly MlaDimensions dims;
    private readonly DeviceBuffer<ushort> absorbKeys; // [H, L, nope] W_UKᵀ per head, bf16
    private readonly DeviceBuffer<ushort> valueRows;  // [H, v, L] W_UV per head, bf16

    private TensorCoreMlaProjections(KernelStorage storage, MlaDimensions dims)
    {
        this.storage = storage;
        this.dims = dims;
        absorbKeys = storage.Buffer<ushort>((long)dims.Heads * dims.LatentDim * dims.NopeDim);
        valueRows = storage.Buffer<ushort>((long)dims.Heads * dims.ValueDim * dims.LatentDim);
    }

    /// <summary>kv_b_proj's per-head bf16 operands for one chunk's two projections.</summary>
    public static TensorCoreMlaProjections For(KernelStorage storage, Tensor kvB, MlaDimensions dims)
    {
        var projections = new TensorCoreMlaProjections(storage, dims);
        var split = new KvbSplit(storage.Device, projections.absorbKeys.View, projections.valueRows.View, dims);
        KernelWeight.ApplyTo(kvB, ref split);
        return projections;
    }

    /// <summary>
    /// queries [T, H, L+R] = per head [bf16(q_nope) · bf16(W_UK) ‖ q_pe], q_pe rotated with <paramref name="rope"/>
    /// (query row t at table row t) or copied as it is.
    /// </summary>
    public void Absorb(ArrayView<float> q, ArrayView<float> queries, QueryRope? rope, int rows)
    {
        var device = storage.Device;
        int heads = dims.Heads, qRow = dims.NopeDim + dims.RopeDim, queryRow = dims.LatentDim + dims.RopeDim;
        using var nope = storage.Buffer<ushort>((long)heads * rows * dims.NopeDim);       // [H, T, nope] bf16
        using var absorbed = storage.Buffer<float>((long)heads * rows * dims.LatentDim);  // [H, T, L]
        MlaKernels.LaunchHeadsToBf16(device, q, nope.View, rows, heads, dims.NopeDim, heads * qRow, qRow);
        Multiply(nope.View, absorbKeys.View, absorbed.View, rows, dims.LatentDim, dims.NopeDim);
        MlaKernels.LaunchScatterHeads(device, absorbed.View, queries, rows, heads, dims.LatentDim, heads * queryRow, queryRow);

        // q_pe of every (token, head) row into the query row's last R columns: the (token, head) rows are [T·H, nope+R].
        int pairs = checked(rows * heads);
        using var tokenOfRow = storage.Buffer<int>(pairs); // [T·H] the token of each (token, head) row: its rope table row
        TensorKernels.LaunchFillQuotient(device, tokenOfRow.View, pairs, heads);
        var (cos, sin) = rope is null ? (ArrayView<float>.Empty, ArrayView<float>.Empty) : (rope.Cos.View, rope.Sin.View);
        RopeKernels.LaunchRopeCopyRows(device, q.SubView(dims.NopeDim), queries, storage.RowIndices(pairs), tokenOfRow.View, cos, sin,
            pairs, dims.RopeDim, qRow, queryRow, dims.LatentDim, 0, rope is null ? 0 : dims.RopeDim, 0);
    }

    /// <summary>output [T, H·v] = per head bf16(o_lat [T, H, L]) · bf16(W_UV)ᵀ.</summary>
    public void UpProject(ArrayView<float> latentOutput, ArrayView<float> output, int rows)
    {
        var device = storage.Device;
        int heads = dims.Heads;
        using var latent = storage.Buffer<ushort>((long)heads * rows * dims.LatentDim); // [H, T, L] bf16
        using var values = storage.Buffer<float>((long)heads * rows * dims.ValueDim);   // [H, T, v]
        MlaKernels.LaunchHeadsToBf16(device, latentOutput, latent.View, rows, heads, dims.LatentDim, heads * dims.LatentDim, dims.LatentDim);
        Multiply(latent.View, valueRows.View, values.View, rows, dims.ValueDim, dims.LatentDim);
        MlaKernels.LaunchScatterHeads(device, values.View, output, rows, heads, dims.ValueDim, heads * dims.ValueDim, dims.ValueDim);
    }

    /// <summary>c [H·T, n] = a [H·T, k] · W_hᵀ for head h's rows, W the stacked [H, n, k] bf16.</summary>
    private void Multiply(ArrayView<ushort> a, ArrayView<ushort> weights, ArrayView<float> c, int rows, int n, int k)
    {
        var device = storage.Device;
        int heads = dims.Heads;
        int slots = checked(heads * rows);
        int groups = heads * ((rows + TensorCoreGemmKernels.GroupRows - 1) / TensorCoreGemmKernels.GroupRows);
        using var slotHeads = storage.Buffer<int>(slots);   // [H·T] slot → head
        using var groupFirst = storage.Buffer<int>(groups); // [G] each tile's first slot
        using var groupEnd = storage.Buffer<int>(groups);   // [G] one past its last
        MoeKernels.LaunchUniformItemGroups(device, slotHeads.View, groupFirst.View, groupEnd.View, heads, rows, TensorCoreGemmKernels.GroupRows);
        TensorCoreGemmKernels.LaunchTensorCoreGemm(device, a, new Bf16Rows(weights), ExpertSlotItems.OwnRows(groupFirst.View, groupEnd.View, slotHeads.View),
            c, groups, n, k);
    }

    public void Dispose()
    {
        absorbKeys.Dispose();
        valueRows.Dispose();
    }

    private readonly struct KvbSplit(KernelDevice device, ArrayView<ushort> absorbKeys, ArrayView<ushort> valueRows, MlaDimensions dims) : IWeightOperation
    {
        public void Run<TWeights>(TWeights kvB) where TWeights : struct, IRowFormat<TWeights> =>
            MlaKernels.LaunchKvbHeadsToBf16(device, kvB, absorbKeys, valueRows, dims.Heads, dims.NopeDim, dims.ValueDim, dims.LatentDim);
    }
}
