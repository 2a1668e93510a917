using System.Numerics.Tensors;
using ILGPU;
using ILGPU.IR.Intrinsics;

namespace KernelSharp.Dsl;

/// <summary>
/// Warp collectives: lanes <c>32·w .. 32·w+31</c> of a group combine a value and every lane receives the result.
/// Call them as top-level statements of the kernel body (or of a loop with group-uniform bounds), in the group-size
/// contract of <see cref="KsGroup"/>: a multiple of 32 or exactly 1 (then the warp is that single thread).
/// </summary>
/// <remarks>
/// On 32-lane hardware (CUDA, ILGPU's CPU accelerator built from <c>CPUDevice.Nvidia</c>) this is a butterfly of
/// <c>Warp.ShuffleXor</c>. OpenCL and CPU devices with another warp width (ILGPU's default CPU device has 4 lanes)
/// take a shared-memory path with the same meaning, so results agree on every backend. CUDA and OpenCL need
/// <see cref="KernelSharpIntrinsics.Register"/> on the context.
/// </remarks>
public static class KsWarp
{
    /// <summary>Lanes per warp in the KernelSharp model, independent of the device's native warp size.</summary>
    public const int Size = 32;

    /// <summary>This thread's lane in its warp: <c>Group.IdxX % 32</c>.</summary>
    public static int LaneIdx => Group.IdxX & (Size - 1);

    /// <summary>Sum over the 32 lanes of the warp; every lane gets it.</summary>
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(SumCombine))]
    public static float Sum(float value) => Group.DimX == 1 ? value : WarpSum(value);

    /// <summary>Maximum over the 32 lanes of the warp; every lane gets it.</summary>
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(MaxCombine))]
    public static float Max(float value) => Group.DimX == 1 ? value : WarpMax(value);

    /// <summary>
    /// The reduction proper, chosen per backend by <see cref="KernelSharpIntrinsics.Register"/>: shuffles on CUDA;
    /// shared memory on OpenCL (ILGPU emits OpenCL shuffles for Intel devices only); on the ILGPU CPU accelerator
    /// this C# body runs and picks by the device's warp width. A run-time branch would not do: ILGPU compiles both
    /// sides, so CUDA kernels would declare the shared buffer and OpenCL kernels would contain shuffles.
    /// </summary>
    [IntrinsicImplementation]
    internal static float WarpSum(float value)
        => Warp.WarpSize == Size ? WarpButterfly.Sum(value) : SharedMemoryWarpReduce.Sum(value);

    /// <inheritdoc cref="WarpSum"/>
    [IntrinsicImplementation]
    internal static float WarpMax(float value)
        => Warp.WarpSize == Size ? WarpButterfly.Max(value) : SharedMemoryWarpReduce.Max(value);

    /// <summary>CPU path of <see cref="Sum"/>: <paramref name="perThreadArgs"/> holds the warp's values (32, or 1).
    /// The result is the same for every lane, so a caller may compute it once and broadcast it.</summary>
    public static float SumCombine(ReadOnlySpan<float> perThreadArgs, int threadInScope) => TensorPrimitives.Sum(perThreadArgs);

    /// <summary>CPU path of <see cref="Max"/>; uniform across lanes like <see cref="SumCombine"/>.</summary>
    public static float MaxCombine(ReadOnlySpan<float> perThreadArgs, int threadInScope) => TensorPrimitives.Max(perThreadArgs);
}
