using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// Where <see cref="WeightLoader"/> finds a model's tensors by their Hub names: a checkpoint on disk
/// (<see cref="CheckpointWeightSource"/>) or weights generated from a seed (<see cref="Synthetic.SyntheticWeightSource"/>).
/// The layers only see the loader, so they never know which. Values arrive as <see cref="WeightBytes"/>, read in
/// bounded chunks, so a backend can stream them to where they live, or produce generated ones there in place.
/// </summary>
internal interface IWeightSource : IDisposable
{
    /// <summary>
    /// The matrix [rows, columns] in its stored format when a native-weight backend can keep it so (bf16, or FP8 with
    /// 128×128 block scales); null for anything else (another dtype, block size or shape, or a missing tensor), which
    /// then loads through <see cref="Float32"/> with its checks and messages.
    /// </summary>
    NativeMatrix? Native(string name, int rows, int columns);

    /// <summary>The tensor as fp32 values (4 bytes each, row-major), widened or dequantized; a shape other than <paramref name="expectedShape"/> is an error naming the tensor.</summary>
    WeightBytes Float32(string name, long[] expectedShape);

    /// <summary>Rows [firstRow, firstRow + rowCount) of a [rows, columns] table as fp32: a rank's share of the vocabulary.</summary>
    WeightBytes Float32Rows(string name, long rows, long columns, long firstRow, int rowCount);
}
