namespace KernelSharp.Dsl.Tests;

/// <summary>Random bf16 operands of one m16n8k16 tile and the float64 reference D = A·B + C.</summary>
public sealed class TileData
{
    public TileData(RandomData random, bool withAccumulator = true)
    {
        A = random.Bf16Values(16 * 16, 2f);
        Bt = random.Bf16Values(8 * 16, 2f);
        C = withAccumulator ? random.Floats(16 * 8, 4f) : new float[16 * 8];
        Expected = new double[16 * 8];
        for (int m = 0; m < 16; m++)
        {
            for (int n = 0; n < 8; n++)
            {
                double total = C[m * 8 + n];
                for (int k = 0; k < 16; k++)
                    total += (double)Bf16.ToFloat(A[m * 16 + k]) * Bf16.ToFloat(Bt[n * 16 + k]);
                Expected[m * 8 + n] = total;
            }
        }
    }

    public ushort[] A { get; }     // [16 × 16] bf16 row-major

    public ushort[] Bt { get; }    // [8 × 16] bf16: B transposed

    public float[] C { get; }      // [16 × 8]

    public double[] Expected { get; } // [16 × 8]

    /// <summary>Largest |actual − expected| over the tile, relative to the largest |expected|.</summary>
    public double RelativeError(float[] actual)
    {
        double worst = 0, scale = 1e-30;
        for (int i = 0; i < Expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(actual[i] - Expected[i]));
            scale = Math.Max(scale, Math.Abs(Expected[i]));
        }
        return worst / scale;
    }
}
