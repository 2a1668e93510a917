using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>Block quantization against its definition, on fresh random bands with partial edge blocks.</summary>
public sealed class Fp8BlockQuantizerTests
{
    [Theory]
    [InlineData(3, 10, 4)]
    [InlineData(128, 300, 128)]
    public void Each_block_spans_the_fp8_range_and_values_round_to_the_nearest_code(int rows, int cols, int blockCols)
    {
        var random = new Random(rows * cols);
        float[] band = Enumerable.Range(0, rows * cols).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 3)))).ToArray();
        int scaleCols = (cols + blockCols - 1) / blockCols;
        var codes = new byte[band.Length];
        var scales = new float[scaleCols];
        Fp8BlockQuantizer.QuantizeBand(band, rows, cols, blockCols, codes, scales);

        for (int block = 0; block < scaleCols; block++)
        {
            var columns = Enumerable.Range(block * blockCols, Math.Min(blockCols, cols - (block * blockCols))).ToList();
            float largest = columns.SelectMany(c => Enumerable.Range(0, rows).Select(r => Math.Abs(band[(r * cols) + c]))).Max();
            Assert.Equal(largest / 448f, scales[block]);
            foreach (int c in columns)
            {
                for (int r = 0; r < rows; r++)
                {
                    // The reference encoder (a nearest-value search) on the same scaled value.
                    Assert.Equal(StorageFormats.FloatToFp8E4M3(band[(r * cols) + c] / scales[block]), codes[(r * cols) + c]);
                }
            }
        }
    }

    [Fact]
    public void All_zero_block_gets_scale_one()
    {
        float[] band = [0, 0, 5, -5];
        var codes = new byte[4];
        var scales = new float[2];
        Fp8BlockQuantizer.QuantizeBand(band, 1, 4, 2, codes, scales);
        Assert.Equal([1f, 5f / 448f], scales);
        Assert.Equal([0, 0, 0x7E, 0xFE], codes);
    }
}
