using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Copies of the buffers a kernel may both read and write, so the autotuner can run the kernel several times and
/// still leave the caller's data as one real launch would (each timed run starts from the saved contents).
/// </summary>
public sealed class ViewSnapshot : IDisposable
{
    /// <summary>Above this many saved bytes the autotuner does not tune (the copies would cost more than they win).</summary>
    public const long MaxBytes = 512L << 20;

    private readonly KernelDevice device;
    private readonly List<Action> restores = new();
    private readonly List<IDisposable> copies = new();
    private readonly HashSet<(object?, long, long)> saved = new();

    public ViewSnapshot(KernelDevice device) => this.device = device;

    /// <summary>Total bytes of the views added so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>True when the views are too large to save; nothing is copied then.</summary>
    public bool TooLarge => Bytes > MaxBytes;

    /// <summary>Saves <paramref name="view"/> (unless the snapshot is already too large).</summary>
    public ViewSnapshot Add<T>(ArrayView<T> view) where T : unmanaged
    {
        var location = (IContiguousArrayView)view;
        if (!saved.Add((location.Buffer, location.IndexInBytes, view.LengthInBytes)))
            return this; // already saved (a view passed twice)
        Bytes += view.LengthInBytes;
        if (TooLarge || view.Length == 0)
            return this;
        var copy = device.Accelerator.Allocate1D<T>(view.Length);
        view.CopyTo(copy.View.AsContiguous());
        copies.Add(copy);
        restores.Add(() => copy.View.AsContiguous().CopyTo(view));
        return this;
    }

    /// <summary>Saves <paramref name="written"/> when it shares memory with <paramref name="read"/> (the kernel runs in place).</summary>
    public ViewSnapshot AddIfOverlapping<T, TRead>(ArrayView<T> written, ArrayView<TRead> read) where T : unmanaged where TRead : unmanaged
    {
        return Overlaps(written, read) ? Add(written) : this;
    }

    private static bool Overlaps<T, TRead>(ArrayView<T> a, ArrayView<TRead> b) where T : unmanaged where TRead : unmanaged
    {
        if (a.Length == 0 || b.Length == 0)
            return false;
        var first = (IContiguousArrayView)a;
        var second = (IContiguousArrayView)b;
        if (!ReferenceEquals(first.Buffer, second.Buffer))
            return false;
        long aStart = first.IndexInBytes, bStart = second.IndexInBytes;
        return aStart < bStart + b.LengthInBytes && bStart < aStart + a.LengthInBytes;
    }

    /// <summary>Writes the saved contents back into the views.</summary>
    public void Restore()
    {
        foreach (var restore in restores)
            restore();
        device.Synchronize();
    }

    public void Dispose()
    {
        foreach (var copy in copies)
            copy.Dispose();
        copies.Clear();
        restores.Clear();
    }
}
