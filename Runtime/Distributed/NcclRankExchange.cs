using ILGPU;
using ILGPU.Runtime.Cuda;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// The exchange of a rank on a CUDA GPU: NCCL collectives on the kernel backend's device buffers, queued on the stream
/// its kernels run on, so a collective is ordered after the launches that produced its input and before those that
/// read its result, with no host copy and no synchronization.
/// </summary>
internal sealed class NcclRankExchange : IRankExchange
{
    private readonly KernelModelBackend backend;
    private readonly NcclCommunicator communicator;

    public NcclRankExchange(KernelModelBackend backend, NcclCommunicator communicator)
    {
        if (backend.Device.Accelerator is not CudaAccelerator)
        {
            throw new ArgumentException($"NCCL exchanges CUDA device buffers; this rank runs on {backend.Description}", nameof(backend));
        }

        this.backend = backend;
        this.communicator = communicator;
    }

    public int Rank => communicator.Rank;

    public int Size => communicator.Size;

    public Tensor AllReduceSum(Tensor partial)
    {
        // Out of place: NCCL reads the caller's tensor and writes the sums into a new one, with no copy first.
        var sum = (KernelTensor)backend.Allocate(partial.Rows, partial.Columns);
        backend.Device.Bind();
        communicator.AllReduceSum(DevicePointer(KernelModelBackend.Kernel(partial).View), DevicePointer(sum.View), sum.Length, Stream);
        return sum;
    }

    public Tensor AllGatherColumns(Tensor mine, int totalColumns, int firstColumn)
    {
        // As on the host: the shares differ in width when the vocabulary does not divide evenly, so the gather is a sum
        // of zero-padded [rows, total] blocks, exact because each column has one non-zero contributor.
        var full = (KernelTensor)backend.Allocate(mine.Rows, totalColumns);
        backend.Fill(full, 0f);
        backend.CopyBlock(KernelModelBackend.Kernel(mine), full, mine.Rows, mine.Columns, 0, firstColumn);
        ReduceInPlace(full);
        return full;
    }

    private void ReduceInPlace(KernelTensor tensor)
    {
        backend.Device.Bind();
        communicator.AllReduceSum(DevicePointer(tensor.View), tensor.Length, Stream);
    }

    /// <summary>The stream the backend's kernels run on (ILGPU's default stream of the device).</summary>
    private nint Stream => ((CudaStream)backend.Device.Accelerator.DefaultStream).StreamPtr;

    /// <summary>The device address of a view's first element (its buffer's allocation plus the view's offset).</summary>
    private static nint DevicePointer(ArrayView<float> view) =>
        ((IArrayView)view).Buffer.NativePtr + (nint)((IContiguousArrayView)view).IndexInBytes;

    public void Abort() => communicator.Abort();

    public void Dispose() => communicator.Dispose();
}
