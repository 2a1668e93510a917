using System.Collections.Generic;
using KernelSharp.Generators.Models;

namespace KernelSharp.Generators.Specialization;

/// <summary>
/// One <c>SharedMemory.Allocate&lt;T&gt;(n)</c> of a variant that runs on dynamic shared memory: the call's span in the
/// kernel body and where its elements start in the dynamic array, counted in T.
/// </summary>
internal sealed record SharedCarve(int Start, int Length, string ElementType, long ElementOffset);

/// <summary>
/// How a variant's shared memory is laid out when it is larger than CUDA's 48 KB of static shared memory: every
/// allocation becomes a slice of the one dynamic shared array (ILGPU gives all <c>GetDynamic</c> views the same base),
/// each starting on a 16-byte boundary (cp.async and ldmatrix need it); the launcher asks for <see cref="Bytes"/> and
/// raises the kernel's limit (Dsl's <c>LargeSharedMemory</c>).
/// </summary>
internal sealed record DynamicSharedLayout(int Bytes, EquatableArray<SharedCarve> Carves)
{
    /// <summary>CUDA's static shared-memory limit per group; larger needs dynamic memory and an opt-in per kernel.</summary>
    public const int StaticLimitBytes = 48 * 1024;

    /// <summary>The largest opt-in a group can get (Hopper: 227 KB); a device with less refuses at load, with the numbers.</summary>
    public const int DynamicLimitBytes = 227 * 1024;

    /// <summary>
    /// Places <paramref name="allocations"/> (sites in body order) of the element counts <paramref name="counts"/>; null
    /// when an element size is unknown (a struct the generator cannot size), since a slice must start on its element.
    /// </summary>
    public static DynamicSharedLayout? Place(IReadOnlyList<BodySite> allocations, IReadOnlyList<long> counts)
    {
        var carves = new List<SharedCarve>();
        long offset = 0;
        for (int i = 0; i < allocations.Count; i++)
        {
            int size = allocations[i].Number;
            if (size <= 0)
                return null;
            long alignment = LeastCommonMultiple(16, size);
            offset = (offset + alignment - 1) / alignment * alignment;
            carves.Add(new SharedCarve(allocations[i].Start, allocations[i].Length, allocations[i].Text, offset / size));
            offset += counts[i] * size;
        }
        return new DynamicSharedLayout((int)offset, carves.ToEquatableArray());
    }

    private static long LeastCommonMultiple(long a, long b)
    {
        long x = a, y = b;
        while (y != 0)
            (x, y) = (y, x % y);
        return a / x * b;
    }
}
