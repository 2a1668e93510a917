using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Embedding;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Norms;
using KernelSharp.Kernels.Rope;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The model backend built on the kernel library: tensors are device buffers of one <see cref="KernelDevice"/> and
/// every op is a generated launcher, so the same model code runs on CUDA, OpenCL, the ILGPU CPU accelerator and the
/// generated fast CPU path. Dense ops live here; the indexer, MLA attention and MoE each have their own class.
/// Launches are asynchronous on GPUs; <see cref="Download(Tensor)"/> waits for them.
/// </summary>
public sealed class KernelModelBackend : IModelBackend
{
    /// <summary>
    /// Rows up to which Linear runs as a batched GEMV (decode, and a decode step of up to 64 sequences) instead of a tiled
    /// GEMM (prefill). Each row's GEMV sums exactly as a single row's does, so a sequence's logits do not depend on what
    /// else is in its batch (the tiled SIMT GEMM pads every call to whole tiles and sums in another order: measured on the
    /// H100, a 16-sequence decode step spent 64 ms in it). Weights that fit in L2 are read from memory about once per
    /// step; the larger ones (the output head) once per row.
    /// </summary>
    internal const int GemvMaxRows = 64;

    private readonly KernelStorage storage;
    private readonly KernelKeyPages pages;
    private readonly KernelIndexer indexer;
    private readonly KernelMlaAttention attention;
    private readonly KernelMoe moe;
    private readonly bool ownsDevice;

    private KernelModelBackend(KernelDevice device, bool ownsDevice)
    {
        storage = new KernelStorage(device);
        pages = new KernelKeyPages(storage);
        indexer = new KernelIndexer(storage, pages, this);
        attention = new KernelMlaAttention(storage, pages, this);
        moe = new KernelMoe(storage, this);
        this.ownsDevice = ownsDevice;
    }

    public KernelDevice Device => storage.Device;

    /// <summary>Where weights go and how (their upload chunk size and counters: tests shrink the one and read the others).</summary>
    internal KernelStorage Storage => storage;

    /// <summary>The caching allocator of this backend's working buffers (tests read its counters).</summary>
    internal DeviceMemoryPool MemoryPool => storage.Pool;

    public string Description => $"{Device.Backend} kernels ({Device.Accelerator.Name}, fp32 math, bf16/FP8 weights kept as stored)";

    /// <summary>bf16 / FP8 matrices stay in their format on the device: decode reads half / a quarter of the fp32 bytes.</summary>
    public bool KeepsNativeWeights => true;

    /// <summary>Exact (fp32 activations) or TensorCores (bf16 activations, <see cref="KernelTensorCoreLinear"/>) for prefill-sized Linear calls.</summary>
    public PrefillMatmul PrefillMatmul { get; set; } = PrefillMatmul.Exact;

    /// <summary>
    /// Whether a prompt's attention, indexer scores and routed experts run on the tensor-core kernels
    /// (<see cref="KernelMlaAttention"/>, <see cref="KernelIndexer"/>, <see cref="KernelMoe"/>): with the tensor-core prefill,
    /// on CUDA and on the generated CPU path that tests them; the ILGPU CPU accelerator would emulate every lane of every
    /// mma, and OpenCL has no tensor-core instructions here, so both keep the fp32 kernels for those.
    /// </summary>
    internal bool PromptOnTensorCores => PrefillMatmul == PrefillMatmul.TensorCores && Device.Backend is KernelBackend.Cuda or KernelBackend.FastCpu;

    /// <summary>A backend over <paramref name="device"/>; the caller keeps owning the device.</summary>
    public static KernelModelBackend Create(KernelDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new KernelModelBackend(device, ownsDevice: false);
    }

    /// <summary>A backend over a new device of <paramref name="backend"/>, disposed with the backend.</summary>
    public static KernelModelBackend Create(KernelBackend backend) => Create(backend, 0);

    /// <summary>A backend over device <paramref name="ordinal"/> of <paramref name="backend"/> (<see cref="KernelDevice.Create(KernelBackend, int)"/>), disposed with the backend.</summary>
    public static KernelModelBackend Create(KernelBackend backend, int ordinal) => new(KernelDevice.Create(backend, ordinal), ownsDevice: true);

    // ---- storage ------------------------------------------------------------------------------------------------

    public Tensor Upload(float[] values, int rows, int columns)
    {
        BackendArguments.CheckUpload(values.LongLength, rows, columns);
        return new KernelTensor(storage.Upload(values), rows, columns);
    }

    public Tensor Upload(WeightBytes values, int rows, int columns)
    {
        if (values.Length % sizeof(float) != 0)
        {
            throw new ArgumentException($"{values.Length} bytes are not a whole number of fp32 values", nameof(values));
        }

        BackendArguments.CheckUpload(values.Length / sizeof(float), rows, columns);
        return new KernelTensor(storage.UploadWeight<float>(values), rows, columns);
    }

    public Tensor UploadNative(NativeMatrix matrix) => KernelWeight.Upload(storage, matrix);

    /// <summary>
    /// Stacked [E, I, H] / [E, H, I] for the grouped expert kernels; each expert's matrices are slices of the stacks. Where
    /// the storage reads weights in place and every matrix is mapped, each expert is its own view of the checkpoint
    /// instead (a checkpoint stores experts apart, in name order, so a stack would be a copy of most of the model); mixing
    /// then runs each used expert's GEMVs, which on the host costs no synchronization.
    /// </summary>
    public IReadOnlyList<FeedForwardWeights> UploadExperts(IReadOnlyList<NativeMatrix> gates, IReadOnlyList<NativeMatrix> ups, IReadOnlyList<NativeMatrix> downs) =>
        storage.ReadsWeightsInPlace && gates.Concat(ups).Concat(downs).All(m => m.Values.MappedAddress != 0)
            ? [.. gates.Select((gate, e) => new FeedForwardWeights(UploadNative(gate), UploadNative(ups[e]), UploadNative(downs[e])))]
            : KernelExpertStack.Upload(storage, gates, ups, downs).Experts;

    public IndexTensor Upload(int[] values, int rows, int columns)
    {
        BackendArguments.CheckUpload(values.LongLength, rows, columns);
        return new KernelIndexTensor(storage.Upload(values), rows, columns);
    }

    public Tensor Allocate(int rows, int columns)
    {
        var tensor = storage.NewTensor(rows, columns);
        Fill(tensor, 0f);
        return tensor;
    }

    /// <summary>Both caches are windows of one [maxContext, L+R] buffer, the row layout [c ‖ k_pe] the MLA kernels read directly
    /// (fp32, or the FP8 rows of <see cref="KernelFp8LatentCache"/>).</summary>
    public (Tensor Latent, Tensor RopeKeys) AllocateLatentCache(int maxContext, int latentDim, int ropeDim, KvCacheFormat format = KvCacheFormat.Fp32)
    {
        if (format == KvCacheFormat.Fp8)
        {
            if (latentDim % 16 != 0 || latentDim > KernelSharp.Kernels.Attention.MlaTile.MaxLatentDim)
            {
                throw new UserInputException($"the fp8 KV cache needs kv_lora_rank a multiple of 16 and at most {KernelSharp.Kernels.Attention.MlaTile.MaxLatentDim} (got {latentDim}); use --kv-cache fp32");
            }

            return KernelFp8LatentCache.Allocate(storage, maxContext, latentDim, ropeDim);
        }

        var buffer = storage.Buffer<float>((long)maxContext * (latentDim + ropeDim)); // [maxContext, L+R]
        if (maxContext > 0 && latentDim + ropeDim > 0)
        {
            TensorKernels.LaunchFillFloat(Device, buffer.View, 0f, checked((int)buffer.Length));
        }

        var windows = KernelTensor.Windows(buffer, maxContext, latentDim, ropeDim);
        return (windows[0], windows[1]);
    }

    /// <summary>
    /// The indexer's key cache [maxContext, dim]: fp32, or with <see cref="KvCacheFormat.Fp8"/> DeepSeek-V3.2's e4m3 keys
    /// with one scale each (<see cref="KernelFp8IndexKeyCache"/>), chosen here with the latent cache's format.
    /// </summary>
    public Tensor AllocateIndexKeyCache(int maxContext, int dim, KvCacheFormat format = KvCacheFormat.Fp32) =>
        format == KvCacheFormat.Fp8 ? KernelFp8IndexKeyCache.Allocate(storage, maxContext, dim) : Allocate(maxContext, dim);

    public float[] Download(Tensor tensor)
    {
        if (tensor is QuantizedCacheTensor cache)
        {
            return cache.Download(storage);
        }

        var source = Kernel(tensor);
        if (!source.IsWindow)
        {
            return storage.Download(source.View, tensor.Length);
        }

        using var packed = storage.NewTensor(source.Rows, source.Columns); // [rows, columns] contiguous copy of the window
        CopyBlock(source, packed, source.Rows, source.Columns, 0, 0);
        return storage.Download(packed.View, tensor.Length);
    }

    public void Download(Tensor tensor, Span<float> destination)
    {
        BackendArguments.CheckDownload(tensor, destination.Length);
        var source = tensor is QuantizedCacheTensor ? null : Kernel(tensor);
        if (source is null || source.IsWindow)
        {
            Download(tensor).CopyTo(destination); // cache parts and windows: never on a decode step's path
            return;
        }

        storage.Download(source.View, destination);
    }

    public int[] Download(IndexTensor tensor) => storage.Download(Kernel(tensor).View, Kernel(tensor).Length);

    public void WriteRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn)
    {
        BackendArguments.CheckWriteRows(destination, destinationRow, source, sourceRow, rowCount, sourceColumn);
        if (destination is QuantizedCacheTensor part)
        {
            StoreThroughStaging(part, destinationRow, rowCount, staged => WriteRows(staged, 0, source, sourceRow, rowCount, sourceColumn));
            return;
        }

        var target = Kernel(destination);
        var from = Kernel(source);
        CopyBlock(from, target, rowCount, target.Columns, (long)sourceRow * from.Columns + sourceColumn, (long)destinationRow * target.Columns);
    }

    public void WriteRotatedRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn,
        int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout)
    {
        BackendArguments.CheckWriteRotatedRows(destination, destinationRow, source, sourceRow, rowCount, sourceColumn, ropeOffset, cos, sin);
        if (destination is QuantizedCacheTensor part)
        {
            // the tables are looked up by source row, so the staged write rotates exactly as the in-place one would
            StoreThroughStaging(part, destinationRow, rowCount, staged => WriteRotatedRows(staged, 0, source, sourceRow, rowCount, sourceColumn, ropeOffset, cos, sin, layout));
            return;
        }

        RotateRows(Kernel(source), sourceRow, rowCount, sourceColumn, ropeOffset, cos, sin, layout, Kernel(destination),
            storage.RowIndices(destinationRow + rowCount).SubView(destinationRow, rowCount));
    }

    /// <summary>
    /// target row destinationRows[r] = source[sourceRow + r, sourceColumn .. + target.Columns) with the rope slice rotated
    /// by cos/sin row sourceRow + r.
    /// </summary>
    private void RotateRows(KernelTensor from, int sourceRow, int rowCount, int sourceColumn, int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout,
        KernelTensor target, ArrayView<int> destinationRows)
    {
        if (rowCount == 0 || target.Columns == 0)
        {
            return;
        }

        // The kernel looks cos/sin up by position; the tables hold one row per source row, so source row t uses table row t.
        var tableRows = storage.RowIndices(sourceRow + rowCount).SubView(sourceRow, rowCount); // [rowCount]
        var sourceStart = from.StorageIndex(sourceRow, sourceColumn);
        RopeKernels.LaunchRopeCopyRows(Device, from.StorageView.SubView(sourceStart, from.StorageView.Length - sourceStart), target.StorageView, destinationRows, tableRows,
            Kernel(cos).View, Kernel(sin).View, rowCount, target.Columns, from.RowStride, target.RowStride, target.StorageIndex(0, 0),
            ropeOffset, 2 * cos.Columns, layout == RopeLayout.HalfSplit ? 1 : 0);
    }

    public Tensor Columns(Tensor source, int start, int count)
    {
        var from = Kernel(source);
        if (start < 0 || count < 0 || start + count > from.Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"columns {start}..{start + count} are outside {from}");
        }

        var result = storage.NewTensor(from.Rows, count); // [T, count]
        CopyBlock(from, result, from.Rows, count, start, 0);
        return result;
    }

    // ---- dense math ---------------------------------------------------------------------------------------------

    /// <summary>Where the storage reads weights in place: the embedding stays in the checkpoint's format too (<see cref="KernelWeight"/>).</summary>
    public bool GathersNativeRows => storage.ReadsWeightsInPlace;

    public Tensor GatherRows(Tensor table, ReadOnlySpan<int> rows)
    {
        var source = table is KernelWeight ? table : Kernel(table); // [N, C]
        foreach (var row in rows)
        {
            if (row < 0 || row >= source.Rows)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), $"row {row} is outside {source}");
            }
        }

        var result = storage.NewTensor(rows.Length, source.Columns); // [rows.Length, C]
        if (rows.Length > 0)
        {
            using var ids = storage.Upload(rows.ToArray()); // [rows.Length]
            var gather = new GatherLaunch(Device, ids.View, result, source.Rows);
            KernelWeight.ApplyTo(source, ref gather);
            if (source is KernelWeight { InPlace: { Address: not 0 } mapped })
            {
                // A table gathered in place from the mapped checkpoint (the embedding on the CPU): each row's fault maps the
                // page cache's whole folio around it (128 KB here), so a few hundred random tokens left most of a 62.5 MiB
                // table resident. The launch has finished (host launches are synchronous); the next gather faults its rows
                // back from the page cache.
                MappedPages.Release(mapped.Address, mapped.Bytes);
            }
        }

        return result;
    }

    /// <summary>result [T, C] = table rows ids[t], read in the table's format.</summary>
    private readonly struct GatherLaunch(KernelDevice device, ArrayView<int> ids, KernelTensor result, int tableRows) : IWeightOperation
    {
        public void Run<TTable>(TTable table) where TTable : struct, IRowFormat<TTable> =>
            EmbeddingKernels.LaunchEmbedding(device, table, ids, result.View, result.Rows, result.Columns, tableRows);
    }

    public Tensor Linear(Tensor x, Tensor weight)
    {
        BackendArguments.CheckLinear(x, weight);
        var input = Kernel(x);
        var result = storage.NewTensor(input.Rows, weight.Rows); // [T, out]
        LinearInto(input, weight, result);
        return result;
    }

    public Tensor RmsNorm(Tensor x, Tensor weight, float eps)
    {
        BackendArguments.CheckRmsNorm(x, weight);
        var input = Kernel(x);
        var result = storage.NewTensor(input.Rows, input.Columns);
        if (input.Rows > 0)
        {
            RmsNormKernels.LaunchRmsNorm(Device, input.View, Kernel(weight).View, result.View, input.Rows, input.Columns, eps);
        }

        return result;
    }

    public Tensor AddRmsNorm(Tensor residual, Tensor addend, Tensor weight, float eps)
    {
        BackendArguments.CheckAddRmsNorm(residual, addend, weight);
        var sum = Kernel(residual);
        var other = Kernel(addend);
        var result = storage.NewTensor(sum.Rows, sum.Columns); // [T, H]
        if (sum.Rows > 0)
        {
            RmsNormKernels.LaunchRmsNormResidual(Device, other.View, sum.View, Kernel(weight).View, result.View, sum.Rows, sum.Columns, eps);
        }

        return result;
    }

    public Tensor RmsNormColumns(Tensor source, int sourceColumn, Tensor weight, float eps)
    {
        var from = Kernel(source);
        var result = storage.NewTensor(from.Rows, weight.Columns); // [T, weight.Columns]
        RmsNormRowsInto(result, 0, from, 0, from.Rows, sourceColumn, weight, eps);
        return result;
    }

    /// <summary>One launch per run of segments sharing a cache (a decode batch in one pool: one), rows scattered by its page table.</summary>
    public void StoreNormalizedKeys(IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn, Tensor weight, float eps)
    {
        foreach (var run in CacheRun.Split(segments))
        {
            var destinationRows = pages.For(run).DestinationRows; // [run rows] the cache row of each row's position
            var cache = run.First.Cache(part);
            BackendArguments.CheckRmsNormRowsInto(cache, weight);
            if (cache is QuantizedCacheTensor quantized)
            {
                using var staged = storage.NewTensor(run.Rows, quantized.Columns); // [rows, L] fp32, then rounded into the FP8 rows
                RmsNormRowsInto(staged, 0, source, run.FirstRow, run.Rows, sourceColumn, weight, eps);
                quantized.Store(storage, staged, destinationRows);
                continue;
            }

            NormalizeRows(Kernel(source), run.FirstRow, run.Rows, sourceColumn, weight, eps, Kernel(cache), destinationRows);
        }
    }

    /// <summary>One launch per run of segments sharing a cache, rows scattered by its page table.</summary>
    public void StoreRotatedKeys(IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn, int ropeOffset, Tensor cos, Tensor sin,
        RopeLayout layout)
    {
        foreach (var run in CacheRun.Split(segments))
        {
            var destinationRows = pages.For(run).DestinationRows;
            var cache = run.First.Cache(part);
            if (cache is QuantizedCacheTensor quantized)
            {
                // [rows, R or index_dim] fp32, then rounded: k_pe to bf16 in the FP8 latent rows, index keys to e4m3
                using var staged = storage.NewTensor(run.Rows, quantized.Columns);
                WriteRotatedRows(staged, 0, source, run.FirstRow, run.Rows, sourceColumn, ropeOffset, cos, sin, layout);
                quantized.Store(storage, staged, destinationRows);
                continue;
            }

            BackendArguments.CheckWriteRotatedRows(cache, 0, source, run.FirstRow, run.Rows, sourceColumn, ropeOffset, cos, sin);
            RotateRows(Kernel(source), run.FirstRow, run.Rows, sourceColumn, ropeOffset, cos, sin, layout, Kernel(cache), destinationRows);
        }
    }

    public void RmsNormRowsInto(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn, Tensor weight, float eps)
    {
        BackendArguments.CheckRmsNormRowsInto(destination, weight);
        if (destination is QuantizedCacheTensor part)
        {
            StoreThroughStaging(part, destinationRow, rowCount, staged => RmsNormRowsInto(staged, 0, source, sourceRow, rowCount, sourceColumn, weight, eps));
            return;
        }

        var target = Kernel(destination);
        var from = Kernel(source);
        if (rowCount < 0 || destinationRow < 0 || destinationRow + rowCount > target.Rows || sourceRow < 0 || sourceRow + rowCount > from.Rows
            || sourceColumn < 0 || sourceColumn + target.Columns > from.Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(destinationRow), $"cannot normalize {rowCount} rows of {from} (row {sourceRow}, column {sourceColumn}) into row {destinationRow} of {target}");
        }

        NormalizeRows(from, sourceRow, rowCount, sourceColumn, weight, eps, target, storage.RowIndices(destinationRow + rowCount).SubView(destinationRow, rowCount));
    }

    /// <summary>target row destinationRows[r] = RMSNorm(source[sourceRow + r, sourceColumn .. + target.Columns)) · weight.</summary>
    private void NormalizeRows(KernelTensor from, int sourceRow, int rowCount, int sourceColumn, Tensor weight, float eps, KernelTensor target, ArrayView<int> destinationRows)
    {
        if (rowCount > 0 && target.Columns > 0)
        {
            // Both sides by storage position, so a window of the shared latent cache is written in place.
            RmsNormKernels.LaunchRmsNormRows(Device, from.StorageView, Kernel(weight).View, target.StorageView, destinationRows, rowCount, target.Columns,
                from.RowStride, from.StorageIndex(sourceRow, sourceColumn), target.RowStride, target.StorageIndex(0, 0), eps);
        }
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps)
    {
        BackendArguments.CheckLayerNorm(x, weight, bias);
        var input = Kernel(x);
        var result = storage.NewTensor(input.Rows, input.Columns);
        if (input.Rows > 0)
        {
            LayerNormKernels.LaunchLayerNorm(Device, input.View, Kernel(weight).View, Kernel(bias).View, result.View, input.Rows, input.Columns, eps);
        }

        return result;
    }

    public void AddInPlace(Tensor target, Tensor addend)
    {
        BackendArguments.CheckAddInPlace(target, addend);
        var sum = Kernel(target);
        var other = Kernel(addend);
        if (sum.Length > 0)
        {
            TensorKernels.LaunchAddInPlace(Device, sum.View, other.View, checked((int)sum.Length));
        }
    }

    public void ScaleInPlace(Tensor x, float factor)
    {
        var values = Kernel(x);
        if (values.Length > 0)
        {
            TensorKernels.LaunchScaleInPlace(Device, values.View, factor, checked((int)values.Length));
        }
    }

    public void ApplyRope(Tensor x, int heads, int headDim, int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout)
    {
        BackendArguments.CheckApplyRope(x, heads, headDim);
        var values = Kernel(x);
        var pairs = cos.Columns;
        if (cos.Rows != values.Rows || sin.Rows != values.Rows || sin.Columns != pairs || ropeOffset < 0 || ropeOffset + 2 * pairs > headDim)
        {
            throw new ArgumentException($"rope tables {cos}/{sin} do not fit {values} with {heads} heads of {headDim} (rope at {ropeOffset})");
        }

        if (values.Rows == 0 || pairs == 0)
        {
            return;
        }

        // The kernels look cos/sin up by position; the interface gives one table row per activation row, so row t uses row t.
        var rowIndices = storage.RowIndices(values.Rows); // [T]
        if (layout == RopeLayout.Interleaved)
        {
            RopeKernels.LaunchRopeInterleaved(Device, values.View, rowIndices, Kernel(cos).View, Kernel(sin).View, values.Rows, heads, values.Columns, headDim, ropeOffset, 2 * pairs);
        }
        else
        {
            RopeKernels.LaunchRopeHalfSplit(Device, values.View, rowIndices, Kernel(cos).View, Kernel(sin).View, values.Rows, heads, values.Columns, headDim, ropeOffset, 2 * pairs);
        }
    }

    public Tensor SwiGlu(Tensor gateUp)
    {
        BackendArguments.CheckSwiGlu(gateUp);
        var both = Kernel(gateUp);
        var inner = both.Columns / 2;
        var result = storage.NewTensor(both.Rows, inner); // [T, I]
        if (result.Length > 0)
        {
            SwiGluKernels.LaunchSwiGluFused(Device, both.View, result.View, both.Rows, inner);
        }

        return result;
    }

    public Tensor FeedForward(Tensor x, FeedForwardWeights weights)
    {
        var input = Kernel(x);
        var result = storage.NewTensor(input.Rows, weights.Down.Rows); // [T, H]
        FeedForwardInto(input, weights, result);
        return result;
    }

    // ---- indexer, attention, experts ----------------------------------------------------------------------------

    public Tensor IndexerScores(Tensor q, Tensor headWeights, int heads, IReadOnlyList<AttentionSegment> segments) =>
        indexer.Scores(Kernel(q), Kernel(headWeights), heads, segments);

    public IndexTensor TopK(Tensor scores, int k, IReadOnlyList<AttentionSegment> segments) => indexer.TopK(Kernel(scores), k, segments);

    public Tensor MlaAttention(Tensor q, Tensor kvB, MlaDimensions dims, float softmaxScale, IReadOnlyList<AttentionSegment> segments, IndexTensor? selectedKeys,
        Tensor? ropeCos = null, Tensor? ropeSin = null)
    {
        BackendArguments.CheckMlaAttention(q, kvB, dims);
        if ((ropeCos is null) != (ropeSin is null))
        {
            throw new ArgumentException("MLA attention needs both rope tables or neither");
        }

        var rope = ropeCos is null ? null : new QueryRope(Kernel(ropeCos), Kernel(ropeSin!));
        return attention.Forward(Kernel(q), kvB, dims, softmaxScale, segments, selectedKeys is null ? null : Kernel(selectedKeys), rope);
    }

    public ExpertRouting RouteExperts(Tensor routerLogits, Tensor correctionBias, RouterSettings settings) =>
        moe.Route(Kernel(routerLogits), Kernel(correctionBias), settings);

    public Tensor MixExperts(Tensor x, ExpertRouting routing, IReadOnlyList<FeedForwardWeights> experts, Tensor? shared = null, int firstExpert = 0) =>
        moe.Mix(Kernel(x), Kernel(routing.Experts), Kernel(routing.Weights), experts, shared is null ? null : Kernel(shared), firstExpert);

    public void Dispose()
    {
        pages.Dispose();
        storage.Dispose();
        if (ownsDevice)
        {
            Device.Dispose();
        }
    }

    // ---- shared helpers -----------------------------------------------------------------------------------------

    /// <summary>Decode GEMVs take the warp-per-rows kernel on GPUs (<see cref="LinearLaunch"/> says why).</summary>
    private bool WarpRowGemv => Device.Backend is KernelBackend.Cuda or KernelBackend.OpenCL;

    /// <summary>
    /// Whether decode GEMVs on stored-format weights, dense and routed experts, take the tensor cores
    /// (<see cref="TensorCoreGemvLaunch"/>, <see cref="TensorCoreExpertGemvLaunch"/>: a batch reads each weight once):
    /// CUDA only (OpenCL emulates mma through shared memory; the host backends keep their GEMVs), and for now only with
    /// <c>KS_DECODE_GEMV=tensor-cores</c> in the environment: the kernel passed its tests on the CPU backends, but no GPU
    /// has run it yet (docs/perf/tensor-core-gemv.md), so the CUDA-core GEMVs stay the default until one has.
    /// </summary>
    internal bool DecodeOnTensorCores => DecodeOnTensorCoresOverride ?? (Device.Backend is KernelBackend.Cuda && DecodeGemvOnTensorCoresAsked);

    /// <summary>Tests: forces <see cref="DecodeOnTensorCores"/> (true also on FastCpu, whose generated path runs the same
    /// kernel, so the model-level plumbing is checked without a GPU); null: the rule above.</summary>
    internal bool? DecodeOnTensorCoresOverride { get; set; }

    private static readonly bool DecodeGemvOnTensorCoresAsked = Environment.GetEnvironmentVariable("KS_DECODE_GEMV") == "tensor-cores";

    /// <summary>
    /// output [T, out] = input [T, in] · weightᵀ [out, in], weight fp32 (<see cref="KernelTensor"/>) or stored bf16 / FP8
    /// (<see cref="KernelWeight"/>): batched GEMV for decode rows, tiled GEMM for prefill (or the tensor cores, PrefillMatmul.TensorCores).
    /// </summary>
    internal void LinearInto(KernelTensor input, Tensor weight, KernelTensor output)
    {
        if (input.Rows == 0 || weight.Rows == 0)
        {
            return;
        }

        bool decode = input.Rows <= GemvMaxRows;
        if (!decode && PrefillMatmul == PrefillMatmul.TensorCores && KernelTensorCoreLinear.TryLinearInto(storage, input, weight, output))
        {
            return;
        }

        if (decode && DecodeOnTensorCores && weight is KernelWeight stored)
        {
            var tensorCores = new TensorCoreGemvLaunch(storage, input, output, weight.Rows, weight.Columns);
            stored.ApplyTensorCore(ref tensorCores);
            if (tensorCores.Launched)
            {
                return;
            }
        }

        var launch = new LinearLaunch(Device, input, output, weight.Rows, weight.Columns, decode, WarpRowGemv);
        KernelWeight.ApplyTo(weight, ref launch);
    }

    /// <summary>output [T, H] = down(silu(input gateᵀ) * (input upᵀ)).</summary>
    internal void FeedForwardInto(KernelTensor input, FeedForwardWeights weights, KernelTensor output)
    {
        var (gate, up, down) = (weights.Gate, weights.Up, weights.Down); // fp32 or native [I, H], [I, H], [H, I]
        BackendArguments.RequireColumns(gate, input.Columns, "feed-forward gate_proj");
        BackendArguments.RequireColumns(up, input.Columns, "feed-forward up_proj");
        BackendArguments.RequireColumns(down, gate.Rows, "feed-forward down_proj");
        using var gated = storage.NewTensor(input.Rows, gate.Rows);  // [T, I]
        using var linear = storage.NewTensor(input.Rows, up.Rows);   // [T, I]
        LinearInto(input, gate, gated);
        LinearInto(input, up, linear);
        if (gated.Length > 0)
        {
            SwiGluKernels.LaunchSwiGlu(Device, gated.View, linear.View, gated.View, checked((int)gated.Length));
        }

        LinearInto(gated, down, output);
    }

    /// <summary>
    /// destination[destinationOffset + r·dC + c] = source[sourceOffset + r·sC + c] in each tensor's own row-major
    /// numbering (offsets count rows of Columns floats), also when either tensor is a window of a shared buffer.
    /// </summary>
    internal void CopyBlock(KernelTensor source, KernelTensor destination, int rows, int columns, long sourceOffset, long destinationOffset)
    {
        if (rows > 0 && columns > 0)
        {
            TensorKernels.LaunchCopyBlock(Device, source.StorageView, destination.StorageView, rows, columns,
                source.RowStride, StorageIndex(source, sourceOffset), destination.RowStride, StorageIndex(destination, destinationOffset));
        }
    }

    /// <summary>Where element number <paramref name="offset"/> of the row-major tensor sits in its storage.</summary>
    private static long StorageIndex(KernelTensor tensor, long offset) =>
        tensor.Columns == 0 ? offset : tensor.StorageIndex(checked((int)(offset / tensor.Columns)), (int)(offset % tensor.Columns));

    internal void Fill(KernelTensor tensor, float value)
    {
        if (tensor.Length > 0)
        {
            TensorKernels.LaunchFillFloat(Device, tensor.View, value, checked((int)tensor.Length));
        }
    }

    /// <summary>
    /// Writes rows destinationRow … destinationRow + rowCount − 1 of an FP8 cache: <paramref name="write"/> fills an
    /// fp32 staging tensor [rowCount, part.Columns] the way it would fill an fp32 cache, then the cache's store kernel quantizes it.
    /// </summary>
    private void StoreThroughStaging(QuantizedCacheTensor part, int destinationRow, int rowCount, Action<Tensor> write)
    {
        if (rowCount < 0 || destinationRow < 0 || destinationRow + rowCount > part.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(destinationRow), $"rows {destinationRow}..{destinationRow + rowCount} are outside {part}");
        }

        using var staged = storage.NewTensor(rowCount, part.Columns); // [rowCount, L or R] fp32
        write(staged);
        part.Store(storage, staged, storage.RowIndices(destinationRow + rowCount).SubView(destinationRow, rowCount));
    }

    internal static KernelTensor Kernel(Tensor tensor) => tensor switch
    {
        KernelTensor kernel => kernel,
        QuantizedCacheTensor cache => throw new ArgumentException($"{cache} is only written by the cache writers and read by MLA attention or the indexer", nameof(tensor)),
        KernelWeight weight => throw new ArgumentException($"weight {weight} is kept in {weight.Format}; only Linear, FeedForward and MixExperts take it", nameof(tensor)),
        _ => throw new ArgumentException($"tensor {tensor} was not created by the kernel backend", nameof(tensor)),
    };

    internal static KernelIndexTensor Kernel(IndexTensor tensor) =>
        tensor as KernelIndexTensor ?? throw new ArgumentException($"tensor {tensor} was not created by the kernel backend", nameof(tensor));
}
