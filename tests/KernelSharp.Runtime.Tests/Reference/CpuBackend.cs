using System.Numerics.Tensors;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>
/// The fp32 reference the kernel backends are compared with, op by op and end to end: host arrays, every weight widened
/// to fp32 on upload, TensorPrimitives for the inner loops. Written independently of the kernel library (each op is one
/// small static class: CpuLinear, CpuNorms, CpuRope, CpuIndexer, CpuMlaAttention, CpuMoe); the product runs every device,
/// the CPU included, on the kernel library.
/// </summary>
public sealed class CpuBackend : IModelBackend
{
    public string Description => "fp32 reference (TensorPrimitives)";

    /// <summary>The fp32 reference backend computes in fp32 from fp32 weights (TensorPrimitives): native matrices are widened on upload.</summary>
    public bool KeepsNativeWeights => false;

    public Tensor Upload(float[] values, int rows, int columns)
    {
        BackendArguments.CheckUpload(values.LongLength, rows, columns);
        return new CpuTensor(values, rows, columns);
    }

    public Tensor Upload(WeightBytes values, int rows, int columns)
    {
        if (values.Length != 4L * rows * columns)
        {
            throw new ArgumentException($"{values.Length} bytes are not [{rows}, {columns}] fp32 values", nameof(values));
        }

        // A checkpoint's converted tensor arrives as its own array: no second copy of the embedding table.
        return new CpuTensor(values.BackingArray<float>() ?? values.ToArray<float>(), rows, columns);
    }

    public Tensor UploadNative(NativeMatrix matrix) => new CpuTensor(NativeMatrixDecoder.ToFloat32(matrix), matrix.Rows, matrix.Columns);

    public IReadOnlyList<FeedForwardWeights> UploadExperts(IReadOnlyList<NativeMatrix> gates, IReadOnlyList<NativeMatrix> ups, IReadOnlyList<NativeMatrix> downs) =>
        gates.Select((gate, e) => new FeedForwardWeights(UploadNative(gate), UploadNative(ups[e]), UploadNative(downs[e]))).ToArray();

    public IndexTensor Upload(int[] values, int rows, int columns)
    {
        BackendArguments.CheckUpload(values.LongLength, rows, columns);
        return new CpuIndexTensor(values, rows, columns);
    }

    public Tensor Allocate(int rows, int columns) => new CpuTensor(new float[(long)rows * columns], rows, columns);

    /// <summary>fp32 only: the FP8 latent cache is read by the kernel library's attention, which this backend does not use.</summary>
    public (Tensor Latent, Tensor RopeKeys) AllocateLatentCache(int maxContext, int latentDim, int ropeDim, KvCacheFormat format = KvCacheFormat.Fp32) =>
        format == KvCacheFormat.Fp32 ? (Allocate(maxContext, latentDim), Allocate(maxContext, ropeDim)) : throw OnlyFp32Caches(format);

    /// <summary>fp32 only, as the latent cache.</summary>
    public Tensor AllocateIndexKeyCache(int maxContext, int dim, KvCacheFormat format = KvCacheFormat.Fp32) =>
        format == KvCacheFormat.Fp32 ? Allocate(maxContext, dim) : throw OnlyFp32Caches(format);

    private static UserInputException OnlyFp32Caches(KvCacheFormat format) =>
        new($"the fp32 reference keeps fp32 caches only, not {format.ToString().ToLowerInvariant()}");

    public float[] Download(Tensor tensor) => (float[])Cpu(tensor).Values.Clone();

    public void Download(Tensor tensor, Span<float> destination)
    {
        BackendArguments.CheckDownload(tensor, destination.Length);
        Cpu(tensor).Values.AsSpan(0, destination.Length).CopyTo(destination);
    }

    public int[] Download(IndexTensor tensor) => (int[])Cpu(tensor).Values.Clone();

    public void WriteRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn)
    {
        BackendArguments.CheckWriteRows(destination, destinationRow, source, sourceRow, rowCount, sourceColumn);
        var target = Cpu(destination);
        var from = Cpu(source);
        for (var r = 0; r < rowCount; r++)
        {
            from.Row(sourceRow + r).Slice(sourceColumn, target.Columns).CopyTo(target.Row(destinationRow + r));
        }
    }

    public void WriteRotatedRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn,
        int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout)
    {
        BackendArguments.CheckWriteRotatedRows(destination, destinationRow, source, sourceRow, rowCount, sourceColumn, ropeOffset, cos, sin);
        var width = destination.Columns;
        var pairs = cos.Columns;
        using var rows = new CpuTensor(new float[rowCount * width], rowCount, width); // [rowCount, width] copy to rotate
        WriteRows(rows, 0, source, sourceRow, rowCount, sourceColumn);
        using var cosRows = new CpuTensor(Cpu(cos).Values.AsSpan(sourceRow * pairs, rowCount * pairs).ToArray(), rowCount, pairs); // [rowCount, pairs]
        using var sinRows = new CpuTensor(Cpu(sin).Values.AsSpan(sourceRow * pairs, rowCount * pairs).ToArray(), rowCount, pairs);
        ApplyRope(rows, 1, width, ropeOffset, cosRows, sinRows, layout);
        WriteRows(destination, destinationRow, rows, 0, rowCount, 0);
    }

    public Tensor Columns(Tensor source, int start, int count)
    {
        var from = Cpu(source);
        var values = new float[from.Rows * count];
        for (var r = 0; r < from.Rows; r++)
        {
            from.Row(r).Slice(start, count).CopyTo(values.AsSpan(r * count, count));
        }

        return new CpuTensor(values, from.Rows, count);
    }

    public Tensor GatherRows(Tensor table, ReadOnlySpan<int> rows)
    {
        var source = Cpu(table); // [N, C]
        var values = new float[rows.Length * source.Columns];
        for (var t = 0; t < rows.Length; t++)
        {
            source.Row(rows[t]).CopyTo(values.AsSpan(t * source.Columns, source.Columns));
        }

        return new CpuTensor(values, rows.Length, source.Columns);
    }

    public Tensor Linear(Tensor x, Tensor weight)
    {
        BackendArguments.CheckLinear(x, weight);
        var input = Cpu(x);
        var w = Cpu(weight);
        return new CpuTensor(CpuLinear.Forward(input.Values, input.Rows, input.Columns, w.Values, w.Rows), input.Rows, w.Rows);
    }

    public Tensor RmsNorm(Tensor x, Tensor weight, float eps)
    {
        BackendArguments.CheckRmsNorm(x, weight);
        var input = Cpu(x);
        return new CpuTensor(CpuNorms.RmsNorm(input.Values, input.Rows, input.Columns, Cpu(weight).Values, eps), input.Rows, input.Columns);
    }

    public Tensor AddRmsNorm(Tensor residual, Tensor addend, Tensor weight, float eps)
    {
        BackendArguments.CheckAddRmsNorm(residual, addend, weight);
        AddInPlace(residual, addend);
        return RmsNorm(residual, weight, eps);
    }

    public Tensor RmsNormColumns(Tensor source, int sourceColumn, Tensor weight, float eps)
    {
        using var slice = Columns(source, sourceColumn, weight.Columns); // [T, weight.Columns]
        return RmsNorm(slice, weight, eps);
    }

    public void StoreNormalizedKeys(IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn, Tensor weight, float eps) =>
        CacheWrites.StoreNormalizedByRuns(this, segments, part, source, sourceColumn, weight, eps);

    public void StoreRotatedKeys(IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn, int ropeOffset, Tensor cos, Tensor sin,
        RopeLayout layout) =>
        CacheWrites.StoreRotatedByRuns(this, segments, part, source, sourceColumn, ropeOffset, cos, sin, layout);

    public void RmsNormRowsInto(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn, Tensor weight, float eps)
    {
        BackendArguments.CheckRmsNormRowsInto(destination, weight);
        var target = Cpu(destination);
        using var slice = new CpuTensor(new float[rowCount * target.Columns], rowCount, target.Columns); // [rowCount, destination.Columns]
        WriteRows(slice, 0, source, sourceRow, rowCount, sourceColumn);
        using var normalized = RmsNorm(slice, weight, eps);
        WriteRows(destination, destinationRow, normalized, 0, rowCount, 0);
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps)
    {
        BackendArguments.CheckLayerNorm(x, weight, bias);
        var input = Cpu(x);
        return new CpuTensor(CpuNorms.LayerNorm(input.Values, input.Rows, input.Columns, Cpu(weight).Values, Cpu(bias).Values, eps), input.Rows, input.Columns);
    }

    public void AddInPlace(Tensor target, Tensor addend)
    {
        BackendArguments.CheckAddInPlace(target, addend);
        var sum = Cpu(target);
        var other = Cpu(addend);
        TensorPrimitives.Add(sum.Values, other.Values, sum.Values);
    }

    public void ScaleInPlace(Tensor x, float factor) => TensorPrimitives.Multiply(Cpu(x).Values, factor, Cpu(x).Values);

    public void ApplyRope(Tensor x, int heads, int headDim, int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout)
    {
        BackendArguments.CheckApplyRope(x, heads, headDim);
        var values = Cpu(x);
        CpuRope.Apply(values.Values, values.Rows, heads, headDim, ropeOffset, Cpu(cos).Values, Cpu(sin).Values, cos.Columns, layout);
    }

    public Tensor SwiGlu(Tensor gateUp)
    {
        BackendArguments.CheckSwiGlu(gateUp);
        var both = Cpu(gateUp);
        var inner = both.Columns / 2;
        var result = new float[both.Rows * inner]; // [T, I]
        for (var t = 0; t < both.Rows; t++)
        {
            var row = both.Row(t);
            for (var i = 0; i < inner; i++)
            {
                var g = row[i];
                result[t * inner + i] = g / (1f + MathF.Exp(-g)) * row[inner + i];
            }
        }

        return new CpuTensor(result, both.Rows, inner);
    }

    public Tensor FeedForward(Tensor x, FeedForwardWeights weights)
    {
        var input = Cpu(x);
        var result = CpuMoe.FeedForward(input.Values, input.Rows, input.Columns, Cpu(weights.Gate), Cpu(weights.Up), Cpu(weights.Down));
        return new CpuTensor(result, input.Rows, weights.Down.Rows);
    }

    public Tensor IndexerScores(Tensor q, Tensor headWeights, int heads, IReadOnlyList<AttentionSegment> segments)
    {
        var queries = Cpu(q);
        var keyColumns = segments.Max(s => s.KeyCount);
        var dim = queries.Columns / heads;
        var scores = CpuIndexer.Scores(queries.Values, Cpu(headWeights).Values, queries.Rows, heads, dim, segments, keyColumns);
        return new CpuTensor(scores, queries.Rows, keyColumns);
    }

    public IndexTensor TopK(Tensor scores, int k, IReadOnlyList<AttentionSegment> segments)
    {
        var values = Cpu(scores);
        return new CpuIndexTensor(CpuIndexer.TopK(values.Values, values.Rows, values.Columns, k, segments), values.Rows, k);
    }

    public Tensor MlaAttention(Tensor q, Tensor kvB, MlaDimensions dims, float softmaxScale, IReadOnlyList<AttentionSegment> segments, IndexTensor? selectedKeys,
        Tensor? ropeCos = null, Tensor? ropeSin = null)
    {
        BackendArguments.CheckMlaAttention(q, kvB, dims);
        if (ropeCos is not null || ropeSin is not null)
        {
            // rotate a copy of q, then attend as usual
            using var rotated = new CpuTensor(Cpu(q).Values.ToArray(), q.Rows, q.Columns);
            ApplyRope(rotated, dims.Heads, dims.QueryHeadDim, dims.NopeDim,
                ropeCos ?? throw new ArgumentNullException(nameof(ropeCos)), ropeSin ?? throw new ArgumentNullException(nameof(ropeSin)), RopeLayout.Interleaved);
            return MlaAttention(rotated, kvB, dims, softmaxScale, segments, selectedKeys);
        }

        var queries = Cpu(q);
        var selected = selectedKeys is null ? null : Cpu(selectedKeys);
        var output = CpuMlaAttention.Forward(queries.Values, queries.Rows, Cpu(kvB).Values, dims, softmaxScale, segments, selected?.Values, selected?.Columns ?? 0);
        return new CpuTensor(output, queries.Rows, dims.Heads * dims.ValueDim);
    }

    public ExpertRouting RouteExperts(Tensor routerLogits, Tensor correctionBias, RouterSettings settings)
    {
        var logits = Cpu(routerLogits);
        var (experts, weights) = CpuMoe.Route(logits.Values, logits.Rows, logits.Columns, Cpu(correctionBias).Values, settings);
        return new ExpertRouting(
            new CpuIndexTensor(experts, logits.Rows, settings.ExpertsPerToken),
            new CpuTensor(weights, logits.Rows, settings.ExpertsPerToken));
    }

    public Tensor MixExperts(Tensor x, ExpertRouting routing, IReadOnlyList<FeedForwardWeights> experts, Tensor? shared = null, int firstExpert = 0)
    {
        var input = Cpu(x);
        var chosen = Cpu(routing.Experts);
        var mixed = new CpuTensor(CpuMoe.MixExperts(input.Values, input.Rows, input.Columns, chosen.Values, Cpu(routing.Weights).Values, chosen.Columns, experts, firstExpert),
            input.Rows, input.Columns);
        if (shared is not null)
        {
            AddInPlace(mixed, shared);
        }

        return mixed;
    }

    public void Dispose()
    {
        // Host arrays are reclaimed by the garbage collector.
    }

    private static CpuTensor Cpu(Tensor tensor) =>
        tensor as CpuTensor ?? throw new ArgumentException($"tensor {tensor} was not created by the fp32 reference backend", nameof(tensor));

    private static CpuIndexTensor Cpu(IndexTensor tensor) =>
        tensor as CpuIndexTensor ?? throw new ArgumentException($"tensor {tensor} was not created by the fp32 reference backend", nameof(tensor));
}
