using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// How one rank's layers combine their partial results with the other ranks of its group, on the rank's own backend
/// tensors: through host memory where the backend's tensors live there (<see cref="HostRankExchange"/>), with NCCL on
/// device buffers where they live on a GPU (<see cref="NcclRankExchange"/>).
/// </summary>
internal interface IRankExchange : IDisposable
{
    int Rank { get; }

    int Size { get; }

    /// <summary>Σ over ranks of <paramref name="partial"/> [rows, columns], as a new tensor (the input stays the caller's).</summary>
    Tensor AllReduceSum(Tensor partial);

    /// <summary>
    /// Every rank's column block of a [rows, total] result, side by side: rank r contributes columns
    /// [first_r, first_r + count_r) of each row (its vocabulary share of the logits).
    /// </summary>
    Tensor AllGatherColumns(Tensor mine, int totalColumns, int firstColumn);

    /// <summary>Makes the ranks waiting in a collective leave it with an error (another rank failed and will not arrive).</summary>
    void Abort();
}
