using KernelSharp.Dsl;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>A <see cref="NativeMatrix"/> widened to fp32, element by element (bf16 bits, or e4m3 times its block scale).</summary>
internal static class NativeMatrixDecoder
{
    /// <returns>[Rows·Columns] row-major fp32.</returns>
    public static float[] ToFloat32(NativeMatrix matrix)
    {
        var result = new float[(long)matrix.Rows * matrix.Columns];
        switch (matrix.Format)
        {
            case NativeMatrixFormat.Bf16:
                var bits = matrix.Values.ToArray<ushort>();
                for (long i = 0; i < result.LongLength; i++)
                {
                    result[i] = Bf16.ToFloat(bits[i]);
                }

                break;
            case NativeMatrixFormat.Fp8E4M3:
                var bytes = matrix.Values.ToArray<byte>();
                var scales = matrix.ScaleInv ?? throw new ArgumentException("an FP8 matrix needs its block scales", nameof(matrix));
                for (var r = 0; r < matrix.Rows; r++)
                {
                    for (var c = 0; c < matrix.Columns; c++)
                    {
                        long i = (long)r * matrix.Columns + c;
                        result[i] = Fp8E4M3.ToFloat(bytes[i]) * scales[(r / NativeMatrix.ScaleBlock) * matrix.ScaleColumns + c / NativeMatrix.ScaleBlock];
                    }
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(matrix), matrix.Format, "unknown native matrix format");
        }

        return result;
    }
}
