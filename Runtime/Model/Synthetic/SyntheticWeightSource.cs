using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Synthetic;

/// <summary>
/// The tensors of a model generated from a seed instead of read from a checkpoint: every tensor of the config's Hub
/// layout (<see cref="CheckpointLayout"/>), in the format and distribution <c>create-model</c> would write it
/// (<see cref="SyntheticTensor"/>). Nothing is generated here: the values are <see cref="GeneratedWeightBytes"/> that the
/// backend makes where the weight lives, so loading a full-size model needs neither its checkpoint nor a host copy.
/// </summary>
internal sealed class SyntheticWeightSource : IWeightSource
{
    private readonly Dictionary<string, SyntheticTensor> tensors;
    private readonly string location;

    /// <param name="location">What messages name as the model (its config.json).</param>
    public SyntheticWeightSource(ModelConfig config, int seed, string location)
    {
        var fp8 = config.Quantization is not null;
        tensors = CheckpointLayout.For(config).ToDictionary(t => t.Name, t => SyntheticTensor.For(t, seed, fp8), StringComparer.Ordinal);
        this.location = location;
    }

    public NativeMatrix? Native(string name, int rows, int columns)
    {
        if (!tensors.TryGetValue(name, out var tensor) || tensor.Shape is not [var r, var c] || r != rows || c != columns)
        {
            return null; // the fp32 path reports it
        }

        var codes = new GeneratedWeightBytes(tensor, 0, tensor.ElementCount, widened: false);
        switch (tensor.StoredAs)
        {
            case TensorDType.BF16:
                return new NativeMatrix(rows, columns, NativeMatrixFormat.Bf16, codes, null);
            case TensorDType.F8_E4M3:
                // One scale for every block, whatever quantization_config's block size: the kernels' 128×128 grid holds it as well as any.
                var scaleRows = (rows + NativeMatrix.ScaleBlock - 1) / NativeMatrix.ScaleBlock;
                var scaleColumns = (columns + NativeMatrix.ScaleBlock - 1) / NativeMatrix.ScaleBlock;
                var scales = new float[(long)scaleRows * scaleColumns]; // [scaleRows, scaleColumns]
                Array.Fill(scales, tensor.Fp8Scale);
                return new NativeMatrix(rows, columns, NativeMatrixFormat.Fp8E4M3, codes, scales);
            default:
                return null;
        }
    }

    public WeightBytes Float32(string name, long[] expectedShape)
    {
        var tensor = Find(name);
        if (!tensor.Shape.AsSpan().SequenceEqual(expectedShape))
        {
            throw new CheckpointException($"{location}: tensor '{name}' of the synthetic model has shape {TensorInfo.FormatShape(tensor.Shape)}; expected {TensorInfo.FormatShape(expectedShape)}");
        }

        return new GeneratedWeightBytes(tensor, 0, tensor.ElementCount, widened: true);
    }

    public WeightBytes Float32Rows(string name, long rows, long columns, long firstRow, int rowCount)
    {
        if (firstRow < 0 || rowCount < 0 || firstRow + rowCount > rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + rowCount}) are not inside the {rows} rows of '{name}'");
        }

        var tensor = Find(name);
        if (!tensor.Shape.AsSpan().SequenceEqual([rows, columns]))
        {
            throw new CheckpointException($"{location}: tensor '{name}' of the synthetic model has shape {TensorInfo.FormatShape(tensor.Shape)}; expected [{rows}, {columns}]");
        }

        return new GeneratedWeightBytes(tensor, firstRow * columns, rowCount * columns, widened: true);
    }

    public void Dispose()
    {
        // Nothing to release: no file is open.
    }

    private SyntheticTensor Find(string name) =>
        tensors.TryGetValue(name, out var tensor) ? tensor : throw new CheckpointException($"{location}: the synthetic model has no tensor '{name}'");
}
