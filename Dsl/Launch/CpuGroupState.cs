namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Per-thread state of the generated CPU path (locals that live across a collective, collective arguments and
/// results): each host thread keeps one array per slot and hands it, cleared, to every group it runs. Allocating them
/// per group cost a few hundred nanoseconds and garbage per group, as much as a whole 1024-wide row dot product; reuse
/// is sound because a host thread runs one group at a time and a group never launches another kernel.
/// </summary>
/// <typeparam name="T">The element type of the per-thread array.</typeparam>
public static class CpuGroupState<T>
{
    [ThreadStatic]
    private static T[]?[]? slots;

    /// <summary>
    /// An array of at least <paramref name="length"/> elements for <paramref name="slot"/> (unique within one group's
    /// code) on this host thread, its first <paramref name="length"/> elements set to default as a new array's are.
    /// </summary>
    public static T[] Rent(int slot, int length)
    {
        var table = slots;
        if (table == null || slot >= table.Length)
        {
            Array.Resize(ref slots, Math.Max(slot + 1, 8));
            table = slots;
        }
        var array = table[slot];
        if (array == null || array.Length < length)
        {
            array = new T[Math.Max(length, 1)];
            table[slot] = array;
        }
        else
        {
            Array.Clear(array, 0, length);
        }
        return array;
    }
}
