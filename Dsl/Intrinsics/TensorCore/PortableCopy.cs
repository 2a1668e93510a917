using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>The cp.async family where it does not exist: a synchronous copy, and nothing to commit or wait for.</summary>
internal static class PortableCopy
{
    public static void Copy16(ArrayView<ushort> sharedTarget, int targetIndex, ArrayView<ushort> globalSource, long sourceIndex)
    {
        for (int i = 0; i < 8; i++)
            sharedTarget[targetIndex + i] = globalSource[sourceIndex + i];
    }

    public static void Commit()
    {
    }

    public static void Wait(int pendingGroups)
    {
    }

    public static uint NoSharedAddress(ArrayView<ushort> view, int index) => 0;
}
