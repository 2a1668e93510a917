using ILGPU;
using KernelSharp.Runtime.Model.Backend;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A weight matrix of the kernel backend in its checkpoint format: bf16 bits [Rows·Columns], or e4m3 bytes
/// [Rows·Columns] with fp32 block scales [ceil(Rows/128)·ceil(Columns/128)]. It owns its buffers, or is one expert's
/// slice of a <see cref="KernelExpertStack"/>. Only ops that take a weight accept it (Linear, FeedForward,
/// MixExperts), through the bf16 / FP8 GEMV, GEMM and grouped-expert kernels.
/// </summary>
internal sealed class KernelWeight : Tensor
{
    private readonly IDisposable[] owned; // the buffers behind the views, unless a stack owns them

    internal KernelWeight(int rows, int columns, NativeMatrixFormat format, ArrayView<ushort> bf16, ArrayView<byte> fp8, ArrayView<float> scaleInv,
        KernelExpertStack? stack, int expert, params IDisposable[] owned)
        : base(rows, columns)
    {
        Format = format;
        Bf16 = bf16;
        Fp8 = fp8;
        ScaleInv = scaleInv;
        Stack = stack;
        Expert = expert;
        this.owned = owned;
    }

    public NativeMatrixFormat Format { get; }

    /// <summary>[Rows·Columns] bf16 bits (empty unless Format = Bf16).</summary>
    public ArrayView<ushort> Bf16 { get; }

    /// <summary>[Rows·Columns] e4m3 (empty unless Format = Fp8E4M3).</summary>
    public ArrayView<byte> Fp8 { get; }

    /// <summary>[ceil(Rows/128)·ceil(Columns/128)] block scales (empty unless Format = Fp8E4M3).</summary>
    public ArrayView<float> ScaleInv { get; }

    /// <summary>The stack this matrix is expert <see cref="Expert"/> of, or null for a matrix of its own.</summary>
    public KernelExpertStack? Stack { get; }

    public int Expert { get; }

    /// <summary>Copies <paramref name="matrix"/> to the device in its format, in bounded chunks (<see cref="KernelStorage.UploadChunkBytes"/>).</summary>
    public static KernelWeight Upload(KernelStorage storage, NativeMatrix matrix)
    {
        Validate(matrix);
        if (matrix.Format == NativeMatrixFormat.Bf16)
        {
            var bits = storage.UploadWeight<ushort>(matrix.Values); // [Rows·Columns]
            return new KernelWeight(matrix.Rows, matrix.Columns, matrix.Format, bits.View, default, default, null, 0, bits);
        }

        var codes = storage.UploadWeight<byte>(matrix.Values); // [Rows·Columns]
        var scales = storage.Upload(matrix.ScaleInv!);         // [ScaleRows·ScaleColumns]
        return new KernelWeight(matrix.Rows, matrix.Columns, matrix.Format, default, codes.View, scales.View, null, 0, codes, scales);
    }

    /// <summary>Throws unless the values and scales fit the matrix's shape and format.</summary>
    public static void Validate(NativeMatrix matrix)
    {
        long length = (long)matrix.Rows * matrix.Columns;
        var valuesFit = matrix.Format switch
        {
            NativeMatrixFormat.Bf16 => matrix.Values.Length == 2 * length,
            NativeMatrixFormat.Fp8E4M3 => matrix.Values.Length == length
                && matrix.ScaleInv is { } scales && scales.LongLength == (long)matrix.ScaleRows * matrix.ScaleColumns,
            _ => false,
        };
        if (!valuesFit)
        {
            throw new ArgumentException($"a {matrix.Format} [{matrix.Rows}, {matrix.Columns}] matrix needs {length} values" +
                (matrix.Format == NativeMatrixFormat.Fp8E4M3 ? $" and [{matrix.ScaleRows}, {matrix.ScaleColumns}] block scales" : string.Empty) +
                $" (got {matrix.Values.Length} bytes)", nameof(matrix));
        }
    }

    public override void Dispose()
    {
        foreach (var buffer in owned)
        {
            buffer.Dispose();
        }

        base.Dispose();
    }

    public override string ToString() => $"[{Rows}, {Columns}] ({Format})";
}
