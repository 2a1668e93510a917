namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// The collectives one rank of a model split over several devices calls. Every rank of a group calls the same
/// collectives in the same order with buffers of the same length; a call returns when the group's result is in this
/// rank's buffer. Buffers here are host memory: <see cref="InProcessCommunicator"/> serves CPU ranks of one process
/// (the CPU backend and multi-rank tests). GPUs exchange device buffers through <see cref="NcclCommunicator"/> instead.
/// </summary>
public interface ICommunicator
{
    /// <summary>This rank, 0 ≤ Rank &lt; Size.</summary>
    int Rank { get; }

    /// <summary>Ranks in the group.</summary>
    int Size { get; }

    /// <summary>values ← Σ over ranks of values (elementwise; every rank ends with the same sums, added in rank order).</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>gathered [Size × mine.Length] ← every rank's <paramref name="mine"/>, rank 0 first.</summary>
    void AllGather(ReadOnlySpan<float> mine, Span<float> gathered);
}
