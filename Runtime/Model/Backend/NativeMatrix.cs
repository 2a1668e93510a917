namespace KernelSharp.Runtime.Model.Backend;

/// <summary>The checkpoint formats a backend may keep weight matrices in.</summary>
public enum NativeMatrixFormat
{
    /// <summary>bfloat16 bits, one ushort per weight.</summary>
    Bf16,

    /// <summary>e4m3 bytes times fp32 block scales of <see cref="NativeMatrix.ScaleBlock"/>×<see cref="NativeMatrix.ScaleBlock"/> weights.</summary>
    Fp8E4M3,
}

/// <summary>
/// A weight matrix [Rows, Columns] ([out, in], as in the checkpoint) in its checkpoint format, for a backend that keeps
/// it so (<see cref="IModelBackend.KeepsNativeWeights"/>): half (bf16) or a quarter (FP8) of the fp32 bytes.
/// </summary>
/// <param name="Values">[Rows·Columns] row-major: bf16 bits (2 bytes each) or e4m3 codes (1 byte each), read in chunks
/// (a tensor of the memory-mapped checkpoint, so loading needs no host copy of the weight).</param>
/// <param name="ScaleInv">FP8 only: [ceil(Rows/128), ceil(Columns/128)] with W[r, c] = e4m3[r, c] · ScaleInv[r/128, c/128]; null for bf16.</param>
public sealed record NativeMatrix(int Rows, int Columns, NativeMatrixFormat Format, WeightBytes Values, float[]? ScaleInv)
{
    /// <summary>A matrix over managed values: bf16 bits as ushort[] or e4m3 codes as byte[].</summary>
    public NativeMatrix(int rows, int columns, NativeMatrixFormat format, Array values, float[]? scaleInv)
        : this(rows, columns, format, WeightBytes.FromArray(values), scaleInv)
    {
    }

    /// <summary>Bytes one weight takes in <see cref="Format"/>.</summary>
    public int BytesPerValue => Format == NativeMatrixFormat.Bf16 ? 2 : 1;

    /// <summary>Rows and columns of one FP8 scale block (DeepSeek's weight_block_size; the kernels assume it).</summary>
    public const int ScaleBlock = 128;

    /// <summary>Rows of the FP8 scale grid.</summary>
    public int ScaleRows => (Rows + ScaleBlock - 1) / ScaleBlock;

    /// <summary>Columns of the FP8 scale grid.</summary>
    public int ScaleColumns => (Columns + ScaleBlock - 1) / ScaleBlock;
}
