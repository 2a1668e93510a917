using KernelSharp.Dsl;

namespace KernelSharp.Runtime;

/// <summary>
/// DeepSeek-style FP8 block quantization of one band of rows: each block of [bandRows × blockCols] gets the scale
/// largest |value| / 448 (so the block spans the whole e4m3 range; 1 for an all-zero block), and each value is stored
/// as the nearest e4m3 code of value / scale. Dequantization (<see cref="Checkpoint.ReadFloat32"/>) multiplies back.
/// </summary>
public static class Fp8BlockQuantizer
{
    /// <summary>
    /// Quantizes <paramref name="band"/> [bandRows, cols] into <paramref name="codes"/> [bandRows, cols] and
    /// <paramref name="scales"/> [ceil(cols / blockCols)].
    /// </summary>
    public static void QuantizeBand(float[] band, int bandRows, int cols, int blockCols, byte[] codes, Span<float> scales)
    {
        int scaleCols = (cols + blockCols - 1) / blockCols;
        for (int blockCol = 0; blockCol < scaleCols; blockCol++)
        {
            int colStart = blockCol * blockCols;
            int colEnd = Math.Min(cols, colStart + blockCols);
            float largest = 0f;
            for (int r = 0; r < bandRows; r++)
            {
                for (int c = colStart; c < colEnd; c++)
                {
                    largest = Math.Max(largest, Math.Abs(band[(r * cols) + c]));
                }
            }

            scales[blockCol] = largest > 0 ? largest / StorageFormats.Fp8E4M3Max : 1f;
        }

        // The kernels' bit-level encoder: several times faster than StorageFormats' table search, and tested to agree with it.
        float[] blockScales = scales[..scaleCols].ToArray();
        Parallel.For(0, bandRows, r =>
        {
            for (int c = 0; c < cols; c++)
            {
                int index = (r * cols) + c;
                codes[index] = Fp8E4M3.FromFloat(band[index] / blockScales[c / blockCols]);
            }
        });
    }
}
