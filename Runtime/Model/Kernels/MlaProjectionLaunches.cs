using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// queries [T, H, L+R] = per head [q_nope · W_UK ‖ q_pe] from q [T, H, nope+R] and kv_b_proj in its stored format, with q_pe
/// rotated on the way where <paramref name="rope"/> is given (query row t at table row <paramref name="ropeRows"/>[t]).
/// </summary>
internal readonly struct MlaAbsorbLaunch(KernelDevice device, ArrayView<float> q, ArrayView<float> queries, ArrayView<int>? ropeRows, QueryRope? rope,
    int rows, MlaDimensions dims) : IWeightOperation
{
    public void Run<TWeights>(TWeights kvB) where TWeights : struct, IRowFormat<TWeights>
    {
        if (rope is null)
            MlaKernels.LaunchAbsorbQuery(device, q, kvB, queries, rows, dims.Heads, dims.NopeDim, dims.RopeDim, dims.ValueDim, dims.LatentDim);
        else
            MlaKernels.LaunchAbsorbQueryRope(device, q, kvB, queries, ropeRows!.Value, rope.Cos.View, rope.Sin.View,
                rows, dims.Heads, dims.NopeDim, dims.RopeDim, dims.ValueDim, dims.LatentDim);
    }
}

/// <summary>output [T, H·v] = per head o_lat [T, H, L] · W_UVᵀ, kv_b_proj in its stored format.</summary>
internal readonly struct MlaUpProjectLaunch(KernelDevice device, ArrayView<float> latentOutput, ArrayView<float> output, int rows, MlaDimensions dims)
    : IWeightOperation
{
    public void Run<TWeights>(TWeights kvB) where TWeights : struct, IRowFormat<TWeights> =>
        MlaKernels.LaunchUpProjectOutput(device, latentOutput, kvB, output, rows, dims.Heads, dims.NopeDim, dims.ValueDim, dims.LatentDim);
}
