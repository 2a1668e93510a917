using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// Reads a model's tensors by their Hub names from an <see cref="IWeightSource"/> (a checkpoint, or weights generated
/// from a seed), checks their shapes against the config, and moves them to the backend. Weight matrices stay in their
/// checkpoint format (bf16, or FP8 with 128×128 block scales) on a backend that
/// <see cref="IModelBackend.KeepsNativeWeights"/>; everything else is dequantized to fp32 (bf16 widened, FP8 times its
/// block scales). Reports progress per tensor.
/// </summary>
internal sealed class WeightLoader(IWeightSource source, IModelBackend backend, int expectedTensorCount, IProgress<double>? progress)
{
    private int loaded;

    /// <summary>A weight matrix [rows, columns] stored as [out, in], native where the backend keeps native weights.</summary>
    public Tensor Matrix(string name, int rows, int columns) =>
        backend.KeepsNativeWeights && source.Native(name, rows, columns) is { } native
            ? Loaded(backend.UploadNative(native))
            : Fp32Matrix(name, rows, columns);

    /// <summary>
    /// The routed experts <c>{prefix}.{e}.gate_proj / up_proj</c> [inner, hidden] and <c>down_proj</c> [hidden, inner] for
    /// e in [first, first + count) (a rank's range; the whole set by default): stacked in their checkpoint format where
    /// the backend keeps native weights and every matrix has one native format, else one by one.
    /// </summary>
    public IReadOnlyList<FeedForwardWeights> Experts(string prefix, int count, int hidden, int inner, int first = 0)
    {
        if (backend.KeepsNativeWeights)
        {
            var gates = new NativeMatrix?[count];
            var ups = new NativeMatrix?[count];
            var downs = new NativeMatrix?[count];
            for (var e = 0; e < count; e++)
            {
                gates[e] = source.Native($"{prefix}.{first + e}.gate_proj.weight", inner, hidden);
                ups[e] = source.Native($"{prefix}.{first + e}.up_proj.weight", inner, hidden);
                downs[e] = source.Native($"{prefix}.{first + e}.down_proj.weight", hidden, inner);
            }

            var all = gates.Concat(ups).Concat(downs).ToArray();
            if (count > 0 && all.All(m => m is not null && m.Format == all[0]!.Format))
            {
                return Loaded(backend.UploadExperts(gates!, ups!, downs!), tensors: 3 * count);
            }
        }

        return Enumerable.Range(first, count).Select(e => new FeedForwardWeights(
            Matrix($"{prefix}.{e}.gate_proj.weight", inner, hidden),  // [I, H]
            Matrix($"{prefix}.{e}.up_proj.weight", inner, hidden),    // [I, H]
            Matrix($"{prefix}.{e}.down_proj.weight", hidden, inner))) // [H, I]
            .ToArray();
    }

    /// <summary>
    /// Several matrices that multiply the same input, stacked by rows into one [Σ rows, columns] weight so one GEMV reads
    /// them all: native when every part is native in one format (FP8 also needs every part but the last to fill whole
    /// 128-row scale blocks, so the stacked scale grid stays aligned), else fp32. Part i's outputs are columns
    /// [Σ_{j&lt;i} rows_j, … + rows_i) of the product.
    /// </summary>
    public Tensor StackedMatrix(IReadOnlyList<(string Name, int Rows)> parts, int columns)
    {
        if (TryStackedNative(parts, columns) is { } native)
        {
            return native;
        }

        var totalRows = parts.Sum(p => p.Rows);
        var values = WeightBytes.Concat(parts.Select(p => source.Float32(p.Name, [p.Rows, columns])).ToArray()); // [Σ rows, columns]
        return Loaded(backend.Upload(values, totalRows, columns), tensors: parts.Count);
    }

    /// <summary>The stacked matrix of <see cref="StackedMatrix"/> when it can stay native on this backend, else null (nothing loaded).</summary>
    public Tensor? TryStackedNative(IReadOnlyList<(string Name, int Rows)> parts, int columns)
    {
        if (!backend.KeepsNativeWeights || parts.Count == 0)
        {
            return null;
        }

        var natives = parts.Select(p => source.Native(p.Name, p.Rows, columns)).ToArray();
        var stackable = natives.All(m => m is not null && m.Format == natives[0]!.Format)
            && (natives[0]!.Format == NativeMatrixFormat.Bf16 || natives.SkipLast(1).All(m => m!.Rows % NativeMatrix.ScaleBlock == 0));
        return stackable ? Loaded(backend.UploadNative(StackRows(natives!)), tensors: parts.Count) : null;
    }

    /// <summary>Native matrices of one format and column count, one under the other (their bytes read in sequence, never
    /// copied on the host); FP8 scale grids likewise (block-aligned by the caller).</summary>
    private static NativeMatrix StackRows(IReadOnlyList<NativeMatrix> parts)
    {
        var first = parts[0];
        var rows = parts.Sum(p => p.Rows);
        var scales = first.ScaleInv is null ? null : parts.SelectMany(p => p.ScaleInv!).ToArray(); // [Σ scale rows, scale columns]
        return new NativeMatrix(rows, first.Columns, first.Format, WeightBytes.Concat(parts.Select(p => p.Values).ToArray()), scales);
    }

    /// <summary>A table [rows, columns] that is only gathered from (the embedding): as stored where the backend gathers native rows, else fp32.</summary>
    public Tensor GatherTable(string name, int rows, int columns) =>
        backend.KeepsNativeWeights && backend.GathersNativeRows && source.Native(name, rows, columns) is { } native
            ? Loaded(backend.UploadNative(native))
            : Fp32Matrix(name, rows, columns);

    /// <summary>A matrix [rows, columns] always in fp32 (tables that kernels read as fp32: the embedding, kv_b_proj).</summary>
    public Tensor Fp32Matrix(string name, int rows, int columns) => Load(name, rows, columns, [rows, columns]);

    /// <summary>Rows [firstRow, firstRow + rowCount) of a [rows, columns] table in fp32: a rank's vocabulary share.</summary>
    public Tensor Fp32Rows(string name, int rows, int columns, int firstRow, int rowCount) =>
        Loaded(backend.Upload(source.Float32Rows(name, rows, columns, firstRow, rowCount), rowCount, columns));

    /// <summary>
    /// Rows [firstRow, firstRow + rowCount) of the [rows, columns] matrix <paramref name="name"/> (a rank's heads of a
    /// projection): in its stored format where the backend keeps native weights and an FP8 share ends on scale blocks,
    /// else fp32. The whole matrix when the range is all of it.
    /// </summary>
    public Tensor MatrixRows(string name, int rows, int columns, int firstRow, int rowCount) =>
        firstRow == 0 && rowCount == rows ? Matrix(name, rows, columns)
        : NativeBlock(name, rows, columns, firstRow, rowCount, 0, columns) ?? Fp32Rows(name, rows, columns, firstRow, rowCount);

    /// <summary>Columns [firstColumn, firstColumn + columnCount) of the [rows, columns] matrix <paramref name="name"/>, as <see cref="MatrixRows"/>.</summary>
    public Tensor MatrixColumns(string name, int rows, int columns, int firstColumn, int columnCount)
    {
        if (firstColumn == 0 && columnCount == columns)
        {
            return Matrix(name, rows, columns);
        }

        if (NativeBlock(name, rows, columns, 0, rows, firstColumn, columnCount) is { } native)
        {
            return native;
        }

        var all = source.Float32(name, [rows, columns]).ToArray<float>(); // one layer's projection, for its columns
        var share = new float[(long)rows * columnCount];
        for (var r = 0; r < rows; r++)
        {
            all.AsSpan((r * columns) + firstColumn, columnCount).CopyTo(share.AsSpan(r * columnCount));
        }

        return Loaded(backend.Upload(share, rows, columnCount));
    }

    private Tensor? NativeBlock(string name, int rows, int columns, int firstRow, int rowCount, int firstColumn, int columnCount) =>
        backend.KeepsNativeWeights && source.Native(name, rows, columns) is { } whole
        && Backend.NativeMatrixSlices.Block(whole, firstRow, rowCount, firstColumn, columnCount) is { } block
            ? Loaded(backend.UploadNative(block))
            : null;

    /// <summary>As <see cref="Fp32Rows"/> with one more row, of zeros, after the share: [rowCount + 1, columns].</summary>
    public Tensor Fp32RowsAndZeroRow(string name, int rows, int columns, int firstRow, int rowCount)
    {
        var share = source.Float32Rows(name, rows, columns, firstRow, rowCount).ToArray<float>();
        var padded = new float[((long)rowCount + 1) * columns];
        share.CopyTo(padded, 0);
        return Loaded(backend.Upload(padded, rowCount + 1, columns));
    }

    /// <summary>Tensors skipped because another rank holds them (counted so that load progress still reaches 1).</summary>
    public void SkipHeldElsewhere(int tensors) => Loaded(0, tensors);

    /// <summary>A vector [length] (norm weights, biases), held as a [1, length] tensor.</summary>
    public Tensor Vector(string name, int length) => Load(name, 1, length, [length]);

    private Tensor Load(string name, int rows, int columns, long[] expectedShape)
    {
        return Loaded(backend.Upload(source.Float32(name, expectedShape), rows, columns));
    }

    private T Loaded<T>(T value, int tensors = 1)
    {
        loaded += tensors;
        progress?.Report(Math.Min(1.0, (double)loaded / expectedTensorCount));
        return value;
    }
}
