using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// The exchange of a rank whose tensors are host memory (the CPU backend, the kernel backend on a CPU): its values go
/// to the <see cref="ICommunicator"/> as they are, which for these backends is the data itself, not a detour.
/// </summary>
internal sealed class HostRankExchange(IModelBackend backend, ICommunicator communicator) : IRankExchange
{
    public int Rank => communicator.Rank;

    public int Size => communicator.Size;

    public Tensor AllReduceSum(Tensor partial)
    {
        var values = backend.Download(partial);
        communicator.AllReduceSum(values);
        return backend.Upload(values, partial.Rows, partial.Columns);
    }

    public Tensor AllGatherColumns(Tensor mine, int totalColumns, int firstColumn)
    {
        var rows = mine.Rows;
        var full = new float[(long)rows * totalColumns];
        var local = backend.Download(mine); // [rows, count]
        for (var r = 0; r < rows; r++)
        {
            local.AsSpan(r * mine.Columns, mine.Columns).CopyTo(full.AsSpan((r * totalColumns) + firstColumn, mine.Columns));
        }

        // The shares differ in width when the vocabulary does not divide evenly, so the gather is a sum of
        // zero-padded blocks: each column has exactly one non-zero contributor, so the sum is exact.
        communicator.AllReduceSum(full);
        return backend.Upload(full, rows, totalColumns);
    }

    public void Abort()
    {
        if (communicator is InProcessCommunicator inProcess)
        {
            inProcess.Abort();
        }
    }

    public void Dispose()
    {
    }
}
