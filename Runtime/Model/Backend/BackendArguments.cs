namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// The argument rules of <see cref="IModelBackend"/>'s ops that hold for every backend (shapes, lengths, row ranges),
/// written once: each backend calls the op's method first, so a wrong call fails with the same exception and message
/// whichever backend runs it. What only one backend needs (its own tensor type, device memory, the shapes its kernels
/// can run) stays in that backend.
/// A static class rather than a checking decorator around the backends: backends are used directly (tests, the
/// memory budget's <c>is KernelModelBackend</c>) and call their own ops internally (the CPU's AddRmsNorm, the kernel
/// MoE's feed-forwards), so a wrapper would miss calls and hide the backend's type.
/// </summary>
internal static class BackendArguments
{
    /// <summary>Upload: exactly rows × columns values.</summary>
    public static void CheckUpload(long valueCount, int rows, int columns)
    {
        if (valueCount != (long)rows * columns)
        {
            throw new ArgumentException($"expected {rows}×{columns} values, got {valueCount}");
        }
    }

    /// <summary>Download into a span: exactly as many places as the tensor has values.</summary>
    public static void CheckDownload(Tensor tensor, int destinationLength)
    {
        if (destinationLength != tensor.Length)
        {
            throw new ArgumentException($"a download of {tensor.Rows}×{tensor.Columns} values needs a destination of {tensor.Length}, got {destinationLength}");
        }
    }

    /// <summary>WriteRows: rowCount ≥ 0 rows that lie inside both tensors, the source's columns from sourceColumn as wide as the destination.</summary>
    public static void CheckWriteRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn)
    {
        if (rowCount < 0 || destinationRow < 0 || destinationRow + rowCount > destination.Rows || sourceRow < 0 || sourceRow + rowCount > source.Rows
            || sourceColumn < 0 || sourceColumn + destination.Columns > source.Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(destinationRow),
                $"cannot copy {rowCount} rows of {source} (row {sourceRow}, column {sourceColumn}) to row {destinationRow} of {destination}");
        }
    }

    /// <summary>WriteRotatedRows: the rows as for WriteRows; cos/sin one row per source row, as many pairs each, the rotated slice inside a destination row.</summary>
    public static void CheckWriteRotatedRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn,
        int ropeOffset, Tensor cos, Tensor sin)
    {
        CheckWriteRows(destination, destinationRow, source, sourceRow, rowCount, sourceColumn);
        var pairs = cos.Columns;
        if (cos.Rows != source.Rows || sin.Rows != source.Rows || sin.Columns != pairs || ropeOffset < 0 || ropeOffset + 2 * pairs > destination.Columns)
        {
            throw new ArgumentException($"rope tables {cos}/{sin} do not fit rows of {source} rotated at column {ropeOffset} into {destination}");
        }
    }

    /// <summary>Linear: weight [out, x.Columns].</summary>
    public static void CheckLinear(Tensor x, Tensor weight) => RequireColumns(weight, x.Columns, "linear weight");

    /// <summary>RmsNorm: weight [1, x.Columns].</summary>
    public static void CheckRmsNorm(Tensor x, Tensor weight) => RequireColumns(weight, x.Columns, "RMSNorm weight");

    /// <summary>AddRmsNorm: the add's shapes, then the norm weight as wide as the residual.</summary>
    public static void CheckAddRmsNorm(Tensor residual, Tensor addend, Tensor weight)
    {
        CheckAddInPlace(residual, addend);
        CheckRmsNorm(residual, weight);
    }

    /// <summary>RmsNormRowsInto: weight as wide as the destination (the normalized slice).</summary>
    public static void CheckRmsNormRowsInto(Tensor destination, Tensor weight) => RequireColumns(weight, destination.Columns, "RMSNorm weight");

    /// <summary>LayerNorm: weight and bias [1, x.Columns].</summary>
    public static void CheckLayerNorm(Tensor x, Tensor weight, Tensor bias)
    {
        RequireColumns(weight, x.Columns, "LayerNorm weight");
        RequireColumns(bias, x.Columns, "LayerNorm bias");
    }

    /// <summary>AddInPlace: both tensors the same shape.</summary>
    public static void CheckAddInPlace(Tensor target, Tensor addend)
    {
        if (target.Rows != addend.Rows || target.Columns != addend.Columns)
        {
            throw new ArgumentException($"cannot add {addend} to {target}", nameof(addend));
        }
    }

    /// <summary>ApplyRope: x is exactly heads × headDim wide.</summary>
    public static void CheckApplyRope(Tensor x, int heads, int headDim) => RequireColumns(x, heads * headDim, "rope input");

    /// <summary>SwiGlu: gate ‖ up halves of equal width.</summary>
    public static void CheckSwiGlu(Tensor gateUp)
    {
        if (gateUp.Columns % 2 != 0)
        {
            throw new ArgumentException($"SwiGLU input {gateUp} must have an even number of columns (gate ‖ up)", nameof(gateUp));
        }
    }

    /// <summary>MlaAttention: q [T, heads·(nope+rope)], kv_b_proj [·, latent].</summary>
    public static void CheckMlaAttention(Tensor q, Tensor kvB, MlaDimensions dims)
    {
        RequireColumns(q, dims.Heads * dims.QueryHeadDim, "MLA query");
        RequireColumns(kvB, dims.LatentDim, "kv_b_proj");
    }

    /// <summary>The width rule every op above is made of; backends use it for their own checks too, so those read alike.</summary>
    public static void RequireColumns(Tensor tensor, int columns, string what)
    {
        if (tensor.Columns != columns)
        {
            throw new ArgumentException($"{what} {tensor} must have {columns} columns");
        }
    }
}
