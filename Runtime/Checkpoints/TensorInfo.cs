namespace KernelSharp.Runtime;

/// <summary>
/// Where a tensor lives: its file, its absolute byte offset in that file (past the 8-byte length and the header)
/// and its byte length (= element size × product of <see cref="Shape"/>, checked when the file was opened).
/// </summary>
public sealed record TensorInfo(string Name, TensorDType DType, long[] Shape, string FilePath, long DataOffset, long ByteLength)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount => ByteLength / DType.SizeInBytes();

    /// <summary>The shape as "[512, 128]" for messages.</summary>
    public string ShapeText => FormatShape(Shape);

    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
