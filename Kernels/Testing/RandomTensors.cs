using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Testing;

/// <summary>
/// Seeded random inputs for kernel tests and benchmarks: fresh values every call, reproducible from the seed.
/// Weight helpers also return the exact float values the quantized storage decodes to, so references compare the
/// kernel's arithmetic and not the rounding of the weights.
/// </summary>
public static class RandomTensors
{
    /// <summary>Uniform values in [-scale, scale).</summary>
    public static float[] Uniform(Random random, long count, float scale = 1f)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        }
        return values;
    }

    /// <summary>Approximately normal values (sum of uniforms) with the given standard deviation.</summary>
    public static float[] Normal(Random random, long count, float std = 1f)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            // Irwin–Hall with 4 terms: mean 2, variance 1/3; cheap and bounded, good enough for test data.
            double s = random.NextDouble() + random.NextDouble() + random.NextDouble() + random.NextDouble() - 2.0;
            values[i] = (float)(s * Math.Sqrt(3.0) * std);
        }
        return values;
    }

    /// <summary>Integers uniform in [0, exclusiveMax).</summary>
    public static int[] Indices(Random random, int count, int exclusiveMax)
    {
        var values = new int[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = random.Next(exclusiveMax);
        }
        return values;
    }

    /// <summary>Random bf16 bits and the floats they decode to. values: [count]</summary>
    public static (ushort[] Bits, float[] Values) Bf16(Random random, long count, float scale = 1f)
    {
        float[] source = Uniform(random, count, scale);
        var bits = new ushort[count];
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            bits[i] = KernelSharp.Dsl.Bf16.FromFloat(source[i]);
            values[i] = KernelSharp.Dsl.Bf16.ToFloat(bits[i]);
        }
        return (bits, values);
    }

    /// <summary>
    /// A random [rows, cols] weight quantized like DeepSeek's fp8 checkpoints: e4m3 bytes plus one fp32 scale per
    /// 128×128 block (scale_inv: [ceil(rows/128), ceil(cols/128)], edge blocks partial), each block scaled so its
    /// largest magnitude maps to 448. Values: the dequantized floats (fp8 value × block scale), [rows, cols].
    /// </summary>
    public static (byte[] Fp8, float[] ScaleInv, float[] Values) Fp8BlockScaled(Random random, int rows, int cols, float scale = 1f)
    {
        const int Block = 128;
        float[] source = Uniform(random, (long)rows * cols, scale);
        int blockRows = (rows + Block - 1) / Block;
        int blockCols = (cols + Block - 1) / Block;
        var scaleInv = new float[blockRows * blockCols];
        var bytes = new byte[source.Length];
        var values = new float[source.Length];
        for (int br = 0; br < blockRows; br++)
        {
            for (int bc = 0; bc < blockCols; bc++)
            {
                int rowEnd = Math.Min(rows, (br + 1) * Block);
                int colEnd = Math.Min(cols, (bc + 1) * Block);
                float amax = 1e-12f;
                for (int r = br * Block; r < rowEnd; r++)
                {
                    for (int c = bc * Block; c < colEnd; c++)
                    {
                        amax = Math.Max(amax, Math.Abs(source[(long)r * cols + c]));
                    }
                }
                // A slightly random scale so the test does not only see one exponent pattern.
                float blockScale = amax / Fp8E4M3.MaxValue * (float)(1 + 0.25 * random.NextDouble());
                scaleInv[br * blockCols + bc] = blockScale;
                for (int r = br * Block; r < rowEnd; r++)
                {
                    for (int c = bc * Block; c < colEnd; c++)
                    {
                        long i = (long)r * cols + c;
                        bytes[i] = Fp8E4M3.FromFloat(source[i] / blockScale);
                        values[i] = Fp8E4M3.ToFloat(bytes[i]) * blockScale;
                    }
                }
            }
        }
        return (bytes, scaleInv, values);
    }
}
