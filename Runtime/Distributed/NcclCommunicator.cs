namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// One rank of an NCCL group, on the GPU whose context is current on the thread that joined it. Collectives take
/// device pointers and a CUDA stream and are queued on that stream like a kernel launch.
/// </summary>
/// <remarks>
/// Each rank joins on its own thread with its GPU's ILGPU context current (<see cref="Join"/>, i.e.
/// <c>ncclCommInitRank</c>), not through <c>ncclCommInitAll</c> from one thread, because ILGPU allocates every buffer in
/// a context of its own (cuCtxCreate), not in the device's primary context that the CUDA runtime uses. NCCL's
/// initialization calls <c>cudaSetDevice</c>, which may leave the primary context current: the caller compares the
/// thread's context before and after and lets <see cref="NcclRankExchange"/> choose its way from that.
/// </remarks>
public sealed unsafe class NcclCommunicator : IDisposable
{
    private readonly NcclLibrary nccl;
    private nint comm;

    private NcclCommunicator(NcclLibrary nccl, nint comm, int rank, int size)
    {
        this.nccl = nccl;
        this.comm = comm;
        Rank = rank;
        Size = size;
    }

    public int Rank { get; }

    public int Size { get; }

    /// <summary>A new group's name; hand the same value to every rank's <see cref="Join"/>.</summary>
    internal static NcclUniqueId NewGroup(NcclLibrary nccl)
    {
        ArgumentNullException.ThrowIfNull(nccl);
        NcclUniqueId id;
        nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId");
        return id;
    }

    /// <summary>
    /// Joins group <paramref name="group"/> of <paramref name="size"/> ranks as <paramref name="rank"/>, on the GPU whose
    /// context is current on the calling thread. Blocks until every rank has joined, so the ranks must call it at the
    /// same time, each from its own thread.
    /// </summary>
    internal static NcclCommunicator Join(NcclLibrary nccl, NcclUniqueId group, int size, int rank)
    {
        ArgumentNullException.ThrowIfNull(nccl);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (rank < 0 || rank >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"a rank of a group of {size}");
        }

        nint comm;
        nccl.Check(nccl.CommInitRank(&comm, size, group, rank), "ncclCommInitRank");
        return new NcclCommunicator(nccl, comm, rank, size);
    }

    /// <summary>In place: buffer[0..count) ← Σ over ranks, fp32, queued on <paramref name="stream"/>.</summary>
    public void AllReduceSum(nint deviceBuffer, long count, nint stream) => AllReduceSum(deviceBuffer, deviceBuffer, count, stream);

    /// <summary>sums[0..count) ← Σ over ranks of every rank's <paramref name="values"/>[0..count), fp32, queued on <paramref name="stream"/>.</summary>
    public void AllReduceSum(nint values, nint sums, long count, nint stream)
    {
        ObjectDisposedException.ThrowIf(comm == 0, this);
        nccl.Check(nccl.AllReduce(values, sums, (nuint)count, NcclLibrary.Float32, NcclLibrary.Sum, comm, stream), "ncclAllReduce");
    }

    /// <summary>gathered [Size × count] ← every rank's <paramref name="deviceBuffer"/> [count], fp32, queued on <paramref name="stream"/>.</summary>
    public void AllGather(nint deviceBuffer, nint gathered, long count, nint stream)
    {
        ObjectDisposedException.ThrowIf(comm == 0, this);
        nccl.Check(nccl.AllGather(deviceBuffer, gathered, (nuint)count, NcclLibrary.Float32, comm, stream), "ncclAllGather");
    }

    /// <summary>
    /// Stops this rank's queued and running collectives and frees the communicator (<c>ncclCommAbort</c>): how the
    /// other ranks of a group leave a collective that a failed rank will never reach. Safe from any thread.
    /// </summary>
    public void Abort()
    {
        var handle = Interlocked.Exchange(ref comm, 0);
        if (handle != 0)
        {
            nccl.CommAbort(handle);
        }
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref comm, 0);
        if (handle != 0)
        {
            nccl.CommDestroy(handle);
        }
    }
}
