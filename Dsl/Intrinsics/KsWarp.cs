using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl;

/// <summary>
/// Warp collectives: lanes <c>32·w .. 32·w+31</c> of a group combine a value and every lane receives the result.
/// Call them as top-level statements of the kernel body (or of a loop with group-uniform bounds), in the group-size
/// contract of <see cref="KsGroup"/>: a multiple of 32 or exactly 1 (then the warp is that single thread).
/// </summary>
/// <remarks>
/// On 32-lane hardware (CUDA, ILGPU's CPU accelerator built from <c>CPUDevice.Nvidia</c>) this is a butterfly of
/// <c>Warp.ShuffleXor</c>. Devices with another native warp size (ILGPU's default CPU device has 4 lanes, OpenCL
/// devices vary) take a shared-memory path with the same meaning, so results agree on every backend.
/// </remarks>
public static class KsWarp
{
    /// <summary>Lanes per warp in the KernelSharp model, independent of the device's native warp size.</summary>
    public const int Size = 32;

    /// <summary>This thread's lane in its warp: <c>Group.IdxX % 32</c>.</summary>
    public static int LaneIdx => Group.IdxX & (Size - 1);

    /// <summary>Sum over the 32 lanes of the warp; every lane gets it.</summary>
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(SumCombine))]
    public static float Sum(float value)
    {
        if (Group.DimX == 1)
            return value;
        if (CudaAsm.IsSupported || Warp.WarpSize == Size)
            return WarpButterfly.Sum(value);
        return SharedMemoryWarpReduce.Sum(value);
    }

    /// <summary>Maximum over the 32 lanes of the warp; every lane gets it.</summary>
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(MaxCombine))]
    public static float Max(float value)
    {
        if (Group.DimX == 1)
            return value;
        if (CudaAsm.IsSupported || Warp.WarpSize == Size)
            return WarpButterfly.Max(value);
        return SharedMemoryWarpReduce.Max(value);
    }

    /// <summary>CPU path of <see cref="Sum"/>: <paramref name="perThreadArgs"/> holds the warp's values (32, or 1).
    /// The result is the same for every lane, so a caller may compute it once and broadcast it.</summary>
    public static float SumCombine(ReadOnlySpan<float> perThreadArgs, int threadInScope) => TensorPrimitives.Sum(perThreadArgs);

    /// <summary>CPU path of <see cref="Max"/>; uniform across lanes like <see cref="SumCombine"/>.</summary>
    public static float MaxCombine(ReadOnlySpan<float> perThreadArgs, int threadInScope) => TensorPrimitives.Max(perThreadArgs);
}
