namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// NCCL communicators for GPUs driven by this process, one per device (<c>ncclCommInitAll</c>). Collectives take
/// device pointers and a CUDA stream and are queued on that stream like a kernel launch. When one thread drives several
/// ranks, it calls <see cref="Group"/> around the per-rank calls, as NCCL requires.
/// </summary>
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

    /// <summary>
    /// One communicator per CUDA device ordinal in <paramref name="devices"/> (rank i on devices[i]). The caller must
    /// have a CUDA context current on the calling thread (an ILGPU CUDA accelerator bound to it).
    /// </summary>
    public static IReadOnlyList<NcclCommunicator> CreateAll(NcclLibrary nccl, IReadOnlyList<int> devices)
    {
        ArgumentNullException.ThrowIfNull(nccl);
        if (devices.Count == 0)
        {
            throw new ArgumentException("at least one device is needed", nameof(devices));
        }

        var comms = new nint[devices.Count];
        var ordinals = devices.ToArray();
        fixed (nint* commsPointer = comms)
        fixed (int* ordinalsPointer = ordinals)
        {
            nccl.Check(nccl.CommInitAll(commsPointer, ordinals.Length, ordinalsPointer), "ncclCommInitAll");
        }

        return comms.Select((comm, rank) => new NcclCommunicator(nccl, comm, rank, comms.Length)).ToArray();
    }

    /// <summary>In place: buffer[0..count) ← Σ over ranks, fp32, queued on <paramref name="stream"/>.</summary>
    public void AllReduceSum(nint deviceBuffer, long count, nint stream)
    {
        ObjectDisposedException.ThrowIf(comm == 0, this);
        nccl.Check(nccl.AllReduce(deviceBuffer, deviceBuffer, (nuint)count, NcclLibrary.Float32, NcclLibrary.Sum, comm, stream), "ncclAllReduce");
    }

    /// <summary>gathered [Size × count] ← every rank's <paramref name="deviceBuffer"/> [count], fp32, queued on <paramref name="stream"/>.</summary>
    public void AllGather(nint deviceBuffer, nint gathered, long count, nint stream)
    {
        ObjectDisposedException.ThrowIf(comm == 0, this);
        nccl.Check(nccl.AllGather(deviceBuffer, gathered, (nuint)count, NcclLibrary.Float32, comm, stream), "ncclAllGather");
    }

    /// <summary>Runs <paramref name="calls"/> between ncclGroupStart and ncclGroupEnd (one thread issuing for several ranks).</summary>
    public static void Group(NcclLibrary nccl, Action calls)
    {
        nccl.Check(nccl.GroupStart(), "ncclGroupStart");
        try
        {
            calls();
        }
        finally
        {
            nccl.Check(nccl.GroupEnd(), "ncclGroupEnd");
        }
    }

    public void Dispose()
    {
        if (comm != 0)
        {
            nccl.CommDestroy(comm);
            comm = 0;
        }
    }
}
