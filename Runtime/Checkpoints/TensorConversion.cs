using System.Runtime.CompilerServices;

namespace KernelSharp.Runtime;

/// <summary>
/// Converts stored tensors to float32: F32/F16/BF16 element by element, F8_E4M3 times its per-block scale
/// (weight[r, c] = fp8[r, c] × scale[r / blockRows, c / blockCols]; edge blocks are partial).
/// Large tensors are converted in parallel row ranges. Tensor data in a safetensors file need not be aligned.
/// </summary>
internal static unsafe class TensorConversion
{
    // Below this many elements a single thread is faster than scheduling work items.
    private const long ParallelThreshold = 1 << 20;
    private const int ElementsPerWorkItem = 1 << 18;

    /// <summary>Converts <paramref name="count"/> elements at <paramref name="source"/> into <paramref name="destination"/>.</summary>
    public static void ToFloat32(byte* source, TensorDType dtype, float[] destination)
    {
        long count = destination.LongLength;
        nint address = (nint)source;
        ForRanges(count, (start, end) => ConvertRange((byte*)address, dtype, destination, start, end));
    }

    /// <summary>
    /// Dequantizes an FP8 matrix [rows, cols] with block scales [ceil(rows/blockRows), ceil(cols/blockCols)] (row-major).
    /// </summary>
    public static void DequantizeFp8(byte* source, long rows, long cols, float[] scales, int blockRows, int blockCols, float[] destination)
    {
        nint address = (nint)source;
        long scaleCols = (cols + blockCols - 1) / blockCols;
        long rowsPerItem = Math.Max(1, ElementsPerWorkItem / Math.Max(1, cols));
        long items = (rows + rowsPerItem - 1) / rowsPerItem;
        void ConvertRows(long item)
        {
            byte* fp8 = (byte*)address;
            long rowEnd = Math.Min(rows, (item + 1) * rowsPerItem);
            for (long row = item * rowsPerItem; row < rowEnd; row++)
            {
                long scaleRow = row / blockRows * scaleCols;
                long offset = row * cols;
                for (long col = 0; col < cols; col++)
                {
                    destination[offset + col] = StorageFormats.Fp8E4M3ToFloat(fp8[offset + col]) * scales[scaleRow + (col / blockCols)];
                }
            }
        }

        if (rows * cols < ParallelThreshold)
        {
            for (long item = 0; item < items; item++)
            {
                ConvertRows(item);
            }
        }
        else
        {
            Parallel.For(0L, items, ConvertRows);
        }
    }

    private static void ForRanges(long count, Action<long, long> convert)
    {
        if (count < ParallelThreshold)
        {
            convert(0, count);
            return;
        }

        long items = (count + ElementsPerWorkItem - 1) / ElementsPerWorkItem;
        Parallel.For(0L, items, item => convert(item * ElementsPerWorkItem, Math.Min(count, (item + 1) * ElementsPerWorkItem)));
    }

    private static void ConvertRange(byte* source, TensorDType dtype, float[] destination, long start, long end)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                for (long i = start; i < end; i++)
                {
                    destination[i] = Unsafe.ReadUnaligned<float>(source + (i * 4));
                }

                break;
            case TensorDType.BF16:
                for (long i = start; i < end; i++)
                {
                    destination[i] = StorageFormats.Bf16ToFloat(Unsafe.ReadUnaligned<ushort>(source + (i * 2)));
                }

                break;
            case TensorDType.F16:
                for (long i = start; i < end; i++)
                {
                    destination[i] = (float)Unsafe.ReadUnaligned<Half>(source + (i * 2));
                }

                break;
            case TensorDType.F8_E4M3:
                // Without scales (e.g. a scale tensor itself stored in FP8, or a raw look at the codes).
                for (long i = start; i < end; i++)
                {
                    destination[i] = StorageFormats.Fp8E4M3ToFloat(source[i]);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a floating-point dtype");
        }
    }
}
