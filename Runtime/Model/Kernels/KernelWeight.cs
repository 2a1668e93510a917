using KernelSharp.Kernels.Formats;
using KernelSharp.Runtime.Model.Backend;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A weight matrix of the kernel backend in its checkpoint format, as the format struct the kernels read
/// (<see cref="KernelWeight{TWeights}"/>: bf16 bits, or e4m3 codes with 128×128 block scales). It owns its buffers, or
/// is one expert's slice of a <see cref="KernelExpertStack"/>. The stored format becomes a type here, once, when the
/// weight is uploaded; every launch on it goes through <see cref="Apply"/> (or <see cref="ApplyTo"/> for any weight
/// tensor, fp32 included). Only ops that take a weight accept it (Linear, FeedForward, MixExperts).
/// </summary>
internal abstract class KernelWeight : Tensor
{
    private readonly IDisposable[] owned; // the buffers behind the views, unless a stack owns them

    protected KernelWeight(int rows, int columns, NativeMatrixFormat format, KernelExpertStack? stack, int expert, IDisposable[] owned)
        : base(rows, columns)
    {
        Format = format;
        Stack = stack;
        Expert = expert;
        this.owned = owned;
    }

    public NativeMatrixFormat Format { get; }

    /// <summary>The stack this matrix is expert <see cref="Expert"/> of, or null for a matrix of its own.</summary>
    public KernelExpertStack? Stack { get; }

    public int Expert { get; }

    /// <summary>
    /// Where this weight's values are read in place in the mapped checkpoint (<see cref="KernelStorage.WeightView{T}"/>):
    /// the address and byte count while the weight holds the mapping; (0, 0) for values copied to a device buffer.
    /// </summary>
    public (nint Address, long Bytes) InPlace { get; private init; }

    /// <summary>Runs <paramref name="operation"/> on this weight's rows in their format.</summary>
    public abstract void Apply<TOperation>(ref TOperation operation) where TOperation : struct, IWeightOperation;

    /// <summary>Runs <paramref name="operation"/> on this weight's rows in their format, which the tensor cores can read.</summary>
    public abstract void ApplyTensorCore<TOperation>(ref TOperation operation) where TOperation : struct, ITensorCoreWeightOperation;

    /// <summary>Matrix <paramref name="expert"/> ([rows, Columns]) of this stacked weight, as a view of it owned by <paramref name="stack"/>.</summary>
    public abstract KernelWeight Slice(KernelExpertStack stack, int expert, int rows);

    /// <summary>
    /// Runs <paramref name="operation"/> on any weight tensor of the kernel backend: a stored-format
    /// <see cref="KernelWeight"/>, or an fp32 <see cref="KernelTensor"/> (weights dequantized at load) as <see cref="F32Rows"/>.
    /// </summary>
    public static void ApplyTo<TOperation>(Tensor weight, ref TOperation operation) where TOperation : struct, IWeightOperation
    {
        switch (weight)
        {
            case KernelWeight stored:
                stored.Apply(ref operation);
                break;
            case KernelTensor fp32:
                operation.Run(new F32Rows(fp32.View));
                break;
            default:
                throw new ArgumentException($"weight {weight} was not created by the kernel backend", nameof(weight));
        }
    }

    /// <summary>Copies <paramref name="matrix"/> to the device in its format, in bounded chunks (<see cref="KernelStorage.UploadChunkBytes"/>),
    /// or views it in the mapped checkpoint where the storage reads weights in place (<see cref="KernelStorage.WeightView{T}"/>).</summary>
    public static KernelWeight Upload(KernelStorage storage, NativeMatrix matrix)
    {
        Validate(matrix);
        if (matrix.Format == NativeMatrixFormat.Bf16)
        {
            var (bits, bitsOwner, bitsAddress) = storage.WeightView<ushort>(matrix.Values); // [Rows·Columns]
            return new KernelWeight<Bf16Rows>(matrix.Rows, matrix.Columns, matrix.Format, new Bf16Rows(bits), null, 0, bitsOwner)
            {
                InPlace = (bitsAddress, bitsAddress == 0 ? 0 : matrix.Values.Length),
            };
        }

        var (codes, codesOwner, codesAddress) = storage.WeightView<byte>(matrix.Values); // [Rows·Columns]
        var scales = storage.Upload(matrix.ScaleInv!);                       // [ScaleRows·ScaleColumns]
        return new KernelWeight<Fp8BlockRows>(matrix.Rows, matrix.Columns, matrix.Format, new Fp8BlockRows(codes, scales.View), null, 0, codesOwner, scales)
        {
            InPlace = (codesAddress, codesAddress == 0 ? 0 : matrix.Values.Length),
        };
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

/// <summary>The format struct of a stored weight, for operations that are handed one matrix of a stack and read its
/// sibling matrices in the same format (the expert FFN: gate, up, down).</summary>
internal interface IStoredRows<TWeights> where TWeights : struct, IRowFormat<TWeights>
{
    TWeights Weights { get; }
}

/// <summary>A <see cref="KernelWeight"/> whose rows are read as <typeparamref name="TWeights"/>.</summary>
internal sealed class KernelWeight<TWeights> : KernelWeight, IStoredRows<TWeights>
    where TWeights : struct, ITensorCoreRows<TWeights>
{
    public KernelWeight(int rows, int columns, NativeMatrixFormat format, TWeights weights, KernelExpertStack? stack, int expert,
        params IDisposable[] owned)
        : base(rows, columns, format, stack, expert, owned)
    {
        Weights = weights;
    }

    /// <summary>The views the kernels read ([Rows, Columns], plus the block scales where the format has them).</summary>
    public TWeights Weights { get; }

    public override void Apply<TOperation>(ref TOperation operation) => operation.Run(Weights);

    public override void ApplyTensorCore<TOperation>(ref TOperation operation) => operation.Run(Weights);

    public override KernelWeight Slice(KernelExpertStack stack, int expert, int rows) =>
        new KernelWeight<TWeights>(rows, Columns, Format, Weights.Matrix(expert, rows, Columns), stack, expert);
}
