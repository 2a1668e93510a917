using KernelSharp.Dsl;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Model;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>Random weight matrices in a checkpoint format, for tests of the native-weight kernels.</summary>
internal static class RandomMatrices
{
    /// <summary>A random [rows, columns] matrix in <paramref name="format"/> with weights of about ±0.1 (finite FP8 codes only).</summary>
    public static NativeMatrix Create(RandomData random, NativeMatrixFormat format, int rows, int columns)
    {
        if (format == NativeMatrixFormat.Bf16)
        {
            return new NativeMatrix(rows, columns, format, random.Floats(rows * columns, 0.1f).Select(Bf16.FromFloat).ToArray(), null);
        }

        var codes = random.Floats(rows * columns, 300f).Select(Fp8E4M3.FromFloat).ToArray(); // ±300: the whole e4m3 range
        var scaleCount = ((rows + 127) / 128) * ((columns + 127) / 128);                    // [ceil(rows/128), ceil(columns/128)]
        var scales = random.Floats(scaleCount).Select(s => (0.5f + MathF.Abs(s)) / 3000f).ToArray();
        return new NativeMatrix(rows, columns, format, codes, scales);
    }
}
