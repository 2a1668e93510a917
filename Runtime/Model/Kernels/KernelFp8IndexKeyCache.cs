using ILGPU;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// One layer's indexer keys in DeepSeek-V3.2's FP8 layout (<see cref="Fp8RowScaledRows"/>: per token index_head_dim e4m3
/// codes and one fp32 scale amax/448, 132 bytes at 128 dims instead of 512; <see cref="IndexKeyCache"/>). DeepSeek's
/// inference code quantizes the indexer's keys with one scale per 128 values before its key cache stores them; at
/// index_head_dim 128 that is one scale per key, the layout here. The backend's cache writers stage new keys in fp32
/// and store them with <see cref="IndexerKernels.QuantizeIndexKeysFp8"/>; the indexer's score kernels read the codes
/// directly (<see cref="Keys"/>).
/// </summary>
internal sealed class KernelFp8IndexKeyCache : QuantizedCacheTensor
{
    private readonly DeviceBuffer<byte> codes;  // [rows · dim] e4m3, rounded up to whole floats for the zero fill
    private readonly DeviceBuffer<float> scales; // [rows]
    private bool disposed;

    private KernelFp8IndexKeyCache(DeviceBuffer<byte> codes, DeviceBuffer<float> scales, int rows, int dim)
        : base(rows, dim)
    {
        this.codes = codes;
        this.scales = scales;
    }

    /// <summary>The keys as the indexer's score kernels read them: [Rows, Columns] codes and [Rows] scales.</summary>
    public Fp8RowScaledRows Keys => new(codes.View.SubView(0, Length), scales.View.SubView(0, Rows));

    /// <summary>A zero-filled cache [rows, dim] (zero codes and zero scales: every key reads 0).</summary>
    public static KernelFp8IndexKeyCache Allocate(KernelStorage storage, int rows, int dim)
    {
        var codeFloats = (((long)rows * dim) + sizeof(float) - 1) / sizeof(float);
        var codes = storage.Buffer<byte>(codeFloats * sizeof(float));
        var scales = storage.Buffer<float>(rows);
        if (codeFloats > 0)
        {
            // There is no byte fill kernel: the codes are filled as the floats they round up to.
            TensorKernels.LaunchFillFloat(storage.Device, codes.View.SubView(0, codeFloats * sizeof(float)).Cast<float>(), 0f, checked((int)codeFloats));
        }

        if (rows > 0)
        {
            TensorKernels.LaunchFillFloat(storage.Device, scales.View.SubView(0, rows), 0f, rows);
        }

        return new KernelFp8IndexKeyCache(codes, scales, rows, dim);
    }

    public override void Store(KernelStorage storage, KernelTensor values, ArrayView<int> destinationRows)
    {
        if (values.Rows > 0 && Columns > 0)
        {
            BackendArguments.RequireColumns(values, Columns, "index keys to store");
            var keys = Keys;
            IndexerKernels.LaunchQuantizeIndexKeysFp8(storage.Device, values.View, keys.Codes, keys.Scales, destinationRows, values.Rows, Columns);
        }
    }

    public override float[] Download(KernelStorage storage)
    {
        var keys = Keys;
        return Fp8RowScaledRowsReference.Dequantize(storage.Download(keys.Codes, Length), storage.Download(keys.Scales, Rows), Rows, Columns);
    }

    public override void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            codes.Dispose();
            scales.Dispose();
        }

        base.Dispose();
    }

    public override string ToString() => $"{base.ToString()} (FP8 index keys)";
}
