using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// Reads checkpoint tensors by their Hub names, dequantized to fp32 (bf16 widened, FP8 times its block scales),
/// checks their shapes against the config, and moves them to the backend. Reports progress per tensor.
/// </summary>
internal sealed class WeightLoader(Checkpoint checkpoint, IModelBackend backend, int expectedTensorCount, IProgress<double>? progress)
{
    private int loaded;

    /// <summary>A matrix [rows, columns] stored as [out, in].</summary>
    public Tensor Matrix(string name, int rows, int columns) => Load(name, rows, columns, [rows, columns]);

    /// <summary>A vector [length] (norm weights, biases), held as a [1, length] tensor.</summary>
    public Tensor Vector(string name, int length) => Load(name, 1, length, [length]);

    private Tensor Load(string name, int rows, int columns, long[] expectedShape)
    {
        var values = checkpoint.ReadFloat32(name, expectedShape);
        var tensor = backend.Upload(values, rows, columns);
        loaded++;
        progress?.Report(Math.Min(1.0, (double)loaded / expectedTensorCount));
        return tensor;
    }
}
