namespace KernelSharp.Dsl.Launch;

/// <summary>
/// The index check of a generated CPU path in a Debug build: every <c>view[i]</c> of the kernel body goes through it,
/// so an out-of-range access becomes an exception that names the kernel, the view and the index.
/// </summary>
public static class CpuBounds
{
    /// <summary>The same check for an int index, returned as an int so the view's int indexer is kept.</summary>
    public static int Check(long length, int index, string kernel, string view)
    {
        Check(length, (long)index, kernel, view);
        return index;
    }

    public static long Check(long length, long index, string kernel, string view)
    {
        if ((ulong)index >= (ulong)length)
            throw new KernelIndexOutOfRangeException(kernel, view, index, length);
        return index;
    }
}

/// <summary>A kernel body indexed a view outside its elements (found by the CPU path of a Debug build).</summary>
public sealed class KernelIndexOutOfRangeException : Exception
{
    public KernelIndexOutOfRangeException(string kernel, string view, long index, long length)
        : base($"kernel '{kernel}' accessed {view}[{index}], but {view} has {length} element{(length == 1 ? "" : "s")} (valid indices 0 to {length - 1})")
    {
        Kernel = kernel;
        View = view;
        Index = index;
        Length = length;
    }

    public string Kernel { get; }

    public string View { get; }

    public long Index { get; }

    public long Length { get; }
}
