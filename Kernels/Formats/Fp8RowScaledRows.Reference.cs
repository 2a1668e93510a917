using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>Reference of <see cref="Fp8RowScaledRows"/>: the matrix it stores, one value at a time.</summary>
public static class Fp8RowScaledRowsReference
{
    /// <summary>codes [rows, cols] e4m3 + scales [rows] → W [rows, cols] = e4m3(r, c) · scales[r] in fp32.</summary>
    public static float[] Dequantize(byte[] codes, float[] scales, int rows, int cols)
    {
        var values = new float[(long)rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                values[(long)r * cols + c] = Fp8E4M3.ToFloat(codes[(long)r * cols + c]) * scales[r];
            }
        }
        return values;
    }
}
