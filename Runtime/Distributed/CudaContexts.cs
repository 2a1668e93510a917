using System.Runtime.InteropServices;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// The few CUDA driver calls that move data between two contexts of one GPU: ILGPU allocates in a context of its own,
/// while NCCL may run in the device's primary context (its initialization calls <c>cudaSetDevice</c>). The driver
/// library is the one ILGPU already loaded.
/// </summary>
internal static partial class CudaContexts
{
    private const string Driver = "libcuda.so.1";

    /// <summary>The context current on the calling thread (0 for none).</summary>
    public static nint Current()
    {
        Check(cuCtxGetCurrent(out var context), "cuCtxGetCurrent");
        return context;
    }

    public static void MakeCurrent(nint context) => Check(cuCtxSetCurrent(context), "cuCtxSetCurrent");

    /// <summary>A buffer of <paramref name="bytes"/> in <paramref name="context"/> (made current on the way; the caller restores its own).</summary>
    public static nint Allocate(nint context, long bytes)
    {
        MakeCurrent(context);
        Check(cuMemAlloc_v2(out var pointer, (nuint)bytes), "cuMemAlloc");
        return pointer;
    }

    public static void Free(nint context, nint pointer)
    {
        MakeCurrent(context);
        cuMemFree_v2(pointer); // at disposal: nothing useful to do with a failure
    }

    /// <summary>Copies <paramref name="bytes"/> from a buffer of one context to a buffer of another (synchronous).</summary>
    public static void Copy(nint destination, nint destinationContext, nint source, nint sourceContext, long bytes) =>
        Check(cuMemcpyPeer(destination, destinationContext, source, sourceContext, (nuint)bytes), "cuMemcpyPeer");

    /// <summary>Waits for everything queued in <paramref name="context"/> (made current on the way).</summary>
    public static void Synchronize(nint context)
    {
        MakeCurrent(context);
        Check(cuCtxSynchronize(), "cuCtxSynchronize");
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"CUDA driver: {call} failed with error {result}");
        }
    }

    [LibraryImport(Driver)]
    private static partial int cuCtxGetCurrent(out nint context);

    [LibraryImport(Driver)]
    private static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(Driver)]
    private static partial int cuMemAlloc_v2(out nint pointer, nuint bytes);

    [LibraryImport(Driver)]
    private static partial int cuMemFree_v2(nint pointer);

    [LibraryImport(Driver)]
    private static partial int cuMemcpyPeer(nint destination, nint destinationContext, nint source, nint sourceContext, nuint bytes);

    [LibraryImport(Driver)]
    private static partial int cuCtxSynchronize();
}
