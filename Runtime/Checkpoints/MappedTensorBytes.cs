using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime;

/// <summary>
/// A tensor's stored bytes read in place from its memory-mapped safetensors file (valid while the checkpoint is open):
/// a loader hands them to the backend, which copies chunk by chunk to the device with no host copy in between, or, on
/// the host, reads them where they are mapped.
/// </summary>
internal sealed unsafe class MappedTensorBytes(SafeTensorsFile file, TensorInfo info) : WeightBytes
{
    public override long Length => info.ByteLength;

    public override void ReadChunks(int maxChunkBytes, WeightChunkAction action) =>
        ReadPointerChunks(file.GetPointer(info), info.ByteLength, 0, maxChunkBytes, action);

    internal override nint MappedAddress => info.ByteLength == 0 ? 0 : (nint)file.GetPointer(info);

    internal override IDisposable KeepMapped() => file.KeepMapped();
}
