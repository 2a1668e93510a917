using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// Portable warp reduction for devices whose native warp is not 32 lanes: every thread publishes its value in shared
/// memory and reads back its 32-lane segment. Needs the whole group to arrive (the collective rule guarantees it).
/// The trailing barrier lets the same call site run again in a loop without overwriting values still being read.
/// </summary>
internal static class SharedMemoryWarpReduce
{
    /// <summary>Largest group KernelSharp launches (one slot per thread).</summary>
    private const int MaxGroupSize = 1024;

    public static float Sum(float value)
    {
        var slots = SharedMemory.Allocate<float>(MaxGroupSize); // [group threads]
        int thread = Group.IdxX;
        slots[thread] = value;
        Group.Barrier();
        int first = thread & ~(KsWarp.Size - 1);
        int end = IntrinsicMath.Min(first + KsWarp.Size, Group.DimX);
        float total = slots[first];
        for (int i = first + 1; i < end; i++)
            total += slots[i];
        Group.Barrier();
        return total;
    }

    public static float Max(float value)
    {
        var slots = SharedMemory.Allocate<float>(MaxGroupSize); // [group threads]
        int thread = Group.IdxX;
        slots[thread] = value;
        Group.Barrier();
        int first = thread & ~(KsWarp.Size - 1);
        int end = IntrinsicMath.Min(first + KsWarp.Size, Group.DimX);
        float best = slots[first];
        for (int i = first + 1; i < end; i++)
            best = MathF.Max(best, slots[i]);
        Group.Barrier();
        return best;
    }
}
