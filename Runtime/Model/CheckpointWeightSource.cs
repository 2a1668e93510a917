using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// Tensors of a <see cref="Checkpoint"/> on disk (owned: disposed with the source). Native matrices are the
/// memory-mapped bytes, checked for NaN and infinity since nothing converts them; fp32 tensors are converted on the host
/// with the checkpoint's own checks and messages.
/// </summary>
internal sealed class CheckpointWeightSource(Checkpoint checkpoint) : IWeightSource
{
    public NativeMatrix? Native(string name, int rows, int columns)
    {
        if (!checkpoint.Contains(name))
        {
            return null; // the fp32 path reports the missing tensor
        }

        var info = checkpoint.GetInfo(name);
        if (info.Shape.Length != 2 || info.Shape[0] != rows || info.Shape[1] != columns)
        {
            return null; // the fp32 path reports the shape with the file and the expected one
        }

        switch (info.DType)
        {
            case TensorDType.BF16:
                return new NativeMatrix(rows, columns, NativeMatrixFormat.Bf16, RequireFinite(name, info, checkpoint.GetWeightBytes(name)), null);
            case TensorDType.F8_E4M3:
                var scaleName = name + "_scale_inv";
                var scaleRows = (rows + NativeMatrix.ScaleBlock - 1) / NativeMatrix.ScaleBlock;
                var scaleColumns = (columns + NativeMatrix.ScaleBlock - 1) / NativeMatrix.ScaleBlock;
                if (!checkpoint.Contains(scaleName) || checkpoint.GetInfo(scaleName) is not { Shape: [var r, var c] } || r != scaleRows || c != scaleColumns)
                {
                    return null; // another block size, or no scales: the fp32 path dequantizes or reports
                }

                var scales = checkpoint.ReadFloat32(scaleName, scaleRows, scaleColumns);
                if (Array.FindIndex(scales, scale => !float.IsFinite(scale)) is var bad and >= 0)
                {
                    throw new CheckpointException($"{checkpoint.GetInfo(scaleName).FilePath}: tensor '{scaleName}' has a non-finite block scale {scales[bad]} at block {bad / scaleColumns}, {bad % scaleColumns}");
                }

                return new NativeMatrix(rows, columns, NativeMatrixFormat.Fp8E4M3, RequireFinite(name, info, checkpoint.GetWeightBytes(name)), scales);
            default:
                return null;
        }
    }

    public WeightBytes Float32(string name, long[] expectedShape) => WeightBytes.FromArray(checkpoint.ReadFloat32(name, expectedShape));

    public WeightBytes Float32Rows(string name, long rows, long columns, long firstRow, int rowCount) =>
        WeightBytes.FromArray(checkpoint.ReadFloat32Rows(name, rows, columns, firstRow, rowCount));

    public void Dispose() => checkpoint.Dispose();

    /// <summary>
    /// Weights kept as stored are never converted, so they are checked for NaN and infinity here, chunk by chunk from
    /// the mapped file (a tensor may be larger than one span can address). Checked pages of a mapped file are handed back
    /// (<see cref="MappedPages"/>): inference faults in again what it reads, so the scan does not leave every weight
    /// resident.
    /// </summary>
    private static unsafe WeightBytes RequireFinite(string name, TensorInfo info, WeightBytes bytes)
    {
        int elementSize = info.DType.SizeInBytes();
        bool mapped = bytes.MappedAddress != 0;
        bytes.ReadChunks(1 << 26, (chunk, offset) =>
        {
            long bad = NonFiniteValues.FirstIndex(chunk, info.DType);
            if (bad >= 0)
            {
                throw NonFiniteValues.Error(info.FilePath, name, info.Shape, (offset / elementSize) + bad);
            }

            if (mapped)
            {
                fixed (byte* start = chunk)
                {
                    MappedPages.Release(start, chunk.Length);
                }
            }
        });
        return bytes;
    }
}
