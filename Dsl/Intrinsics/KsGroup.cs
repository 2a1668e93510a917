using System.Numerics.Tensors;
using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// Group collectives: every thread of the group takes part and receives the result. Group size ≤ 1024 and either a
/// multiple of 32 or exactly 1. Call them as top-level statements of the kernel body, or of a loop whose bounds are
/// the same for every thread (see the collective rule in <see cref="CollectiveAttribute"/>).
/// </summary>
/// <remarks>
/// Each reduction is a warp reduction (<see cref="KsWarp"/>), then warp leaders write their partial to a 32-slot
/// shared array, and every warp reduces those slots again. Two barriers: one publishes the partials, the last one
/// keeps a later pass through the same call site (in a loop) from overwriting partials still being read.
/// </remarks>
public static class KsGroup
{
    /// <summary>Waits until every thread of the group arrives; shared-memory writes before it are visible after it.</summary>
    [Collective(CollectiveScope.Group)]
    public static void Barrier() => Group.Barrier();

    /// <summary>Sum over the whole group; every thread gets it.</summary>
    [Collective(CollectiveScope.Group, CpuCombine = nameof(SumCombine))]
    public static float Sum(float value)
    {
        if (Group.DimX == 1)
            return value;
        float warpTotal = KsWarp.Sum(value);
        var partials = SharedMemory.Allocate<float>(KsWarp.Size); // [warps of the group]
        int warp = Group.IdxX / KsWarp.Size;
        if (KsWarp.LaneIdx == 0)
            partials[warp] = warpTotal;
        Group.Barrier();
        int warpCount = Group.DimX / KsWarp.Size;
        float partial = KsWarp.LaneIdx < warpCount ? partials[KsWarp.LaneIdx] : 0f;
        float total = KsWarp.Sum(partial);
        Group.Barrier();
        return total;
    }

    /// <summary>Maximum over the whole group; every thread gets it.</summary>
    [Collective(CollectiveScope.Group, CpuCombine = nameof(MaxCombine))]
    public static float Max(float value)
    {
        if (Group.DimX == 1)
            return value;
        float warpBest = KsWarp.Max(value);
        var partials = SharedMemory.Allocate<float>(KsWarp.Size); // [warps of the group]
        int warp = Group.IdxX / KsWarp.Size;
        if (KsWarp.LaneIdx == 0)
            partials[warp] = warpBest;
        Group.Barrier();
        int warpCount = Group.DimX / KsWarp.Size;
        float partial = KsWarp.LaneIdx < warpCount ? partials[KsWarp.LaneIdx] : float.NegativeInfinity;
        float best = KsWarp.Max(partial);
        Group.Barrier();
        return best;
    }

    /// <summary>CPU path of <see cref="Sum"/>: <paramref name="perThreadArgs"/> holds every thread's value.
    /// The result is the same for every thread, so a caller may compute it once and broadcast it.</summary>
    public static float SumCombine(ReadOnlySpan<float> perThreadArgs, int threadInScope) => TensorPrimitives.Sum(perThreadArgs);

    /// <summary>CPU path of <see cref="Max"/>; uniform across threads like <see cref="SumCombine"/>.</summary>
    public static float MaxCombine(ReadOnlySpan<float> perThreadArgs, int threadInScope) => TensorPrimitives.Max(perThreadArgs);
}
