using ILGPU;
using ILGPU.Runtime.Cuda;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// The exchange of a rank on a CUDA GPU: NCCL collectives on the kernel backend's device buffers.
/// </summary>
/// <remarks>
/// Two ways, chosen when the rank joins its group:
/// - <b>Direct</b>: NCCL reads and writes the backend's buffers, queued on the stream its kernels run on, so a collective
///   is ordered after the launches that produced its input, with no copy and no host wait. This needs NCCL to run in
///   ILGPU's context. On one GPU NCCL's collectives are copies, which work across contexts, so a group of one always
///   runs direct (checked on an H100).
/// - <b>Staged</b>: where joining left NCCL in another context (its initialization calls <c>cudaSetDevice</c>, which
///   makes the device's primary context current) and the group has several GPUs, NCCL's kernels could not read ILGPU's
///   buffers. The values are then copied into a buffer of NCCL's context (<c>cuMemcpyPeer</c>), reduced there, and
///   copied back, with the host waiting for each step: correct across contexts, at the cost of two device copies and
///   two host waits per collective.
/// </remarks>
internal sealed class NcclRankExchange : IRankExchange
{
    private readonly KernelModelBackend backend;
    private readonly NcclCommunicator communicator;
    private readonly nint acceleratorContext; // ILGPU's context, where the backend's buffers live
    private readonly nint ncclContext;        // the context joining left current: where NCCL runs
    private nint stage;                       // staged only: a buffer of ncclContext
    private long stageBytes;

    public NcclRankExchange(KernelModelBackend backend, NcclCommunicator communicator, nint acceleratorContext, nint ncclContext)
    {
        if (backend.Device.Accelerator is not CudaAccelerator)
        {
            throw new ArgumentException($"NCCL exchanges CUDA device buffers; this rank runs on {backend.Description}", nameof(backend));
        }

        this.backend = backend;
        this.communicator = communicator;
        this.acceleratorContext = acceleratorContext;
        this.ncclContext = ncclContext == 0 ? acceleratorContext : ncclContext;
        Staged = AlwaysStage || (communicator.Size > 1 && this.ncclContext != acceleratorContext);
    }

    /// <summary>Tests set it to run the staged way on one GPU.</summary>
    internal static bool AlwaysStage { get; set; }

    /// <summary>Whether collectives go through a buffer of NCCL's context (see the remarks).</summary>
    public bool Staged { get; }

    public int Rank => communicator.Rank;

    public int Size => communicator.Size;

    public Tensor AllReduceSum(Tensor partial)
    {
        var sum = (KernelTensor)backend.Allocate(partial.Rows, partial.Columns);
        var source = DevicePointer(KernelModelBackend.Kernel(partial).View);
        if (Staged)
        {
            ReduceStaged(source, DevicePointer(sum.View), sum.Length);
            return sum;
        }

        // Out of place: NCCL reads the caller's tensor and writes the sums into a new one, with no copy first.
        backend.Device.Bind();
        communicator.AllReduceSum(source, DevicePointer(sum.View), sum.Length, Stream);
        return sum;
    }

    public Tensor AllGatherColumns(Tensor mine, int totalColumns, int firstColumn)
    {
        // As on the host: the shares differ in width when the vocabulary does not divide evenly, so the gather is a sum
        // of zero-padded [rows, total] blocks, exact because each column has one non-zero contributor.
        var full = (KernelTensor)backend.Allocate(mine.Rows, totalColumns);
        backend.Fill(full, 0f);
        backend.CopyBlock(KernelModelBackend.Kernel(mine), full, mine.Rows, mine.Columns, 0, firstColumn);
        var pointer = DevicePointer(full.View);
        if (Staged)
        {
            ReduceStaged(pointer, pointer, full.Length);
            return full;
        }

        backend.Device.Bind();
        communicator.AllReduceSum(pointer, full.Length, Stream);
        return full;
    }

    /// <summary>destination ← Σ over ranks of source, through a buffer of NCCL's context (source may be destination).</summary>
    private void ReduceStaged(nint source, nint destination, long count)
    {
        var bytes = count * sizeof(float);
        backend.Device.Synchronize(); // the kernels that wrote the source are done
        try
        {
            if (stageBytes < bytes)
            {
                if (stage != 0)
                {
                    CudaContexts.Free(ncclContext, stage);
                    stage = 0;
                }

                stage = CudaContexts.Allocate(ncclContext, bytes);
                stageBytes = bytes;
            }

            CudaContexts.Copy(stage, ncclContext, source, acceleratorContext, bytes);
            CudaContexts.MakeCurrent(ncclContext);
            communicator.AllReduceSum(stage, count, 0); // the legacy stream of NCCL's context
            CudaContexts.Synchronize(ncclContext);
            CudaContexts.Copy(destination, acceleratorContext, stage, ncclContext, bytes);
        }
        finally
        {
            backend.Device.Bind();
        }
    }

    /// <summary>The stream the backend's kernels run on (ILGPU's default stream of the device).</summary>
    private nint Stream => ((CudaStream)backend.Device.Accelerator.DefaultStream).StreamPtr;

    /// <summary>The device address of a view's first element (its buffer's allocation plus the view's offset).</summary>
    private static nint DevicePointer(ArrayView<float> view) =>
        ((IArrayView)view).Buffer.NativePtr + (nint)((IContiguousArrayView)view).IndexInBytes;

    public void Abort() => communicator.Abort();

    public void Dispose()
    {
        communicator.Dispose();
        if (stage != 0)
        {
            CudaContexts.Free(ncclContext, stage);
            stage = 0;
            backend.Device.Bind();
        }
    }
}
