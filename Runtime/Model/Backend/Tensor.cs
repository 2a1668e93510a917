namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// A row-major fp32 matrix [Rows, Columns] owned by one <see cref="IModelBackend"/>. The model code never reads its
/// storage; it only passes tensors back to the backend that made them (host arrays on the CPU, device buffers on a GPU).
/// Activations are [tokens, features]; weights are [out, in] as stored in the checkpoint; caches are [maxContext, features].
/// </summary>
public abstract class Tensor : IDisposable
{
    protected Tensor(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Rows = rows;
        Columns = columns;
    }

    public int Rows { get; }

    public int Columns { get; }

    public long Length => (long)Rows * Columns;

    public virtual void Dispose() => GC.SuppressFinalize(this);

    public override string ToString() => $"[{Rows}, {Columns}]";
}

/// <summary>A row-major int32 matrix [Rows, Columns] owned by one backend (selected key or expert indices; −1 = empty slot).</summary>
public abstract class IndexTensor : IDisposable
{
    protected IndexTensor(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Rows = rows;
        Columns = columns;
    }

    public int Rows { get; }

    public int Columns { get; }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    public override string ToString() => $"[{Rows}, {Columns}] (int)";
}
