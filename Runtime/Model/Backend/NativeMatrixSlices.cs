using System.Runtime.InteropServices;

namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// A block of rows and columns of a <see cref="NativeMatrix"/>, kept in the stored format: a rank's heads of an
/// attention projection. The block is copied out of the (memory-mapped) matrix into a host array of the block's own
/// size, a share of one layer's projection, never the whole model. FP8 blocks must not cut a 128×128 scale block.
/// </summary>
internal static class NativeMatrixSlices
{
    /// <summary>
    /// Rows [firstRow, firstRow + rowCount) × columns [firstColumn, firstColumn + columnCount) of <paramref name="matrix"/>;
    /// null when an FP8 block boundary would fall inside a scale block (the caller loads that share in fp32 instead).
    /// </summary>
    public static NativeMatrix? Block(NativeMatrix matrix, int firstRow, int rowCount, int firstColumn, int columnCount)
    {
        if (firstRow < 0 || rowCount < 1 || firstRow + rowCount > matrix.Rows || firstColumn < 0 || columnCount < 1 || firstColumn + columnCount > matrix.Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows {firstRow}+{rowCount} × columns {firstColumn}+{columnCount} are outside [{matrix.Rows}, {matrix.Columns}]");
        }

        var fp8 = matrix.Format == NativeMatrixFormat.Fp8E4M3;
        if (fp8 && !(WholeBlocks(firstRow, rowCount, matrix.Rows) && WholeBlocks(firstColumn, columnCount, matrix.Columns)))
        {
            return null;
        }

        var bytesPerValue = matrix.BytesPerValue;
        Array values = fp8 ? new byte[(long)rowCount * columnCount] : new ushort[(long)rowCount * columnCount];
        CopyBlock(matrix, bytesPerValue, firstRow, rowCount, firstColumn, columnCount, values);
        return new NativeMatrix(rowCount, columnCount, matrix.Format, values, fp8 ? ScaleBlockOf(matrix, firstRow, rowCount, firstColumn, columnCount) : null);
    }

    /// <summary>A range starts on a scale-block boundary and ends on one or at the matrix's edge.</summary>
    private static bool WholeBlocks(int first, int count, int total) =>
        first % NativeMatrix.ScaleBlock == 0 && (count % NativeMatrix.ScaleBlock == 0 || first + count == total);

    private static void CopyBlock(NativeMatrix matrix, int bytesPerValue, int firstRow, int rowCount, int firstColumn, int columnCount, Array values)
    {
        long rowBytes = (long)matrix.Columns * bytesPerValue;
        long blockRowBytes = (long)columnCount * bytesPerValue;
        long columnOffset = (long)firstColumn * bytesPerValue;
        matrix.Values.ReadChunks(1 << 26, (chunk, offset) =>
        {
            long end = offset + chunk.Length;
            long firstInChunk = Math.Max(firstRow, offset / rowBytes);
            long pastLastInChunk = Math.Min(firstRow + rowCount, (end + rowBytes - 1) / rowBytes);
            for (long row = firstInChunk; row < pastLastInChunk; row++)
            {
                long start = (row * rowBytes) + columnOffset; // the block's part of this row, in the matrix's bytes
                long low = Math.Max(start, offset);
                long high = Math.Min(start + blockRowBytes, end);
                if (low < high)
                {
                    chunk.Slice((int)(low - offset), (int)(high - low)).CopyTo(Bytes(values).Slice((int)(((row - firstRow) * blockRowBytes) + (low - start))));
                }
            }
        });
    }

    private static float[] ScaleBlockOf(NativeMatrix matrix, int firstRow, int rowCount, int firstColumn, int columnCount)
    {
        const int block = NativeMatrix.ScaleBlock;
        int scaleRows = (rowCount + block - 1) / block, scaleColumns = (columnCount + block - 1) / block;
        var scales = new float[scaleRows * scaleColumns];
        for (var r = 0; r < scaleRows; r++)
        {
            matrix.ScaleInv!.AsSpan(((firstRow / block) + r) * matrix.ScaleColumns + (firstColumn / block), scaleColumns).CopyTo(scales.AsSpan(r * scaleColumns));
        }

        return scales;
    }

    private static Span<byte> Bytes(Array values) => values is byte[] codes ? codes : MemoryMarshal.AsBytes(((ushort[])values).AsSpan());
}
