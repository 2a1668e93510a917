using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Sparse / dense MLA attention in the absorbed form on the kernel library: q_abs = q_nope·W_k per head
/// (AbsorbQuery), attention over the latent cache rows [c ‖ k_pe] (MlaAttention over dense, selected or sliced keys,
/// online softmax in fp32), then o = o_lat·W_vᵀ per head (UpProjectOutput). A prompt's attention runs on the tensor
/// cores instead when the prefill does (<see cref="PrefillMatmul.TensorCores"/>) and the model has DeepSeek-V3.2's
/// latent widths: see <see cref="AttendOnTensorCores"/>.
/// </summary>
internal sealed class KernelMlaAttention(KernelStorage storage, KernelKeyPages pages, KernelModelBackend backend)
{
    /// <param name="q">[T, heads·(nope+rope)], q_pe rotated.</param>
    /// <param name="kvB">kv_b_proj [heads·(nope+v), latent].</param>
    /// <param name="selected">[T, k] key indices (−1 = empty) or null for dense causal attention.</param>
    /// <returns>[T, heads·v]</returns>
    /// <param name="rope">cos/sin [T, rope/2] when q_pe is still to be rotated (done by the absorb kernel), else null.</param>
    public KernelTensor Forward(KernelTensor q, Tensor kvB, MlaDimensions dims, float softmaxScale, IReadOnlyList<AttentionSegment> segments, KernelIndexTensor? selected,
        QueryRope? rope)
    {
        // q's and kv_b_proj's widths are the contract, checked by the backend (BackendArguments.CheckMlaAttention).
        if (kvB.Rows != dims.Heads * (dims.NopeDim + dims.ValueDim))
        {
            throw new ArgumentException($"kv_b_proj {kvB} must have {dims.Heads * (dims.NopeDim + dims.ValueDim)} rows");
        }

        // The attention tile reads rows with 16-byte loads and keeps [8 heads, latent] in shared memory.
        if (dims.LatentDim % 4 != 0 || dims.RopeDim % 4 != 0 || dims.LatentDim > MlaTile.MaxLatentDim)
        {
            throw new NotSupportedException(
                $"the kernel backend's MLA attention needs kv_lora_rank and qk_rope_head_dim divisible by 4 and kv_lora_rank ≤ {MlaTile.MaxLatentDim} " +
                $"(got {dims.LatentDim} and {dims.RopeDim}); run this model on the CPU backend");
        }

        var device = storage.Device;
        var rows = q.Rows;
        var rowLength = dims.LatentDim + dims.RopeDim;
        var output = storage.NewTensor(rows, dims.Heads * dims.ValueDim); // [T, heads·v]
        if (rows == 0)
        {
            return output;
        }

        using var queries = storage.Buffer<float>((long)rows * dims.Heads * rowLength);          // [T, heads, latent+rope]: [q_abs ‖ q_pe]
        using var latentOutput = storage.Buffer<float>((long)rows * dims.Heads * dims.LatentDim); // [T, heads, latent]: o_lat
        if (rope is not null && (rope.Cos.Rows != rows || rope.Sin.Rows != rows || rope.Cos.Columns != dims.RopeDim / 2 || rope.Sin.Columns != dims.RopeDim / 2))
        {
            throw new ArgumentException($"rope tables {rope.Cos}/{rope.Sin} must be [{rows}, {dims.RopeDim / 2}]");
        }

        using var onTensorCores = ProjectsOnTensorCores(rows) ? TensorCoreMlaProjections.For(storage, kvB, dims) : null;
        if (onTensorCores is not null)
        {
            onTensorCores.Absorb(q.View, queries.View, rope, rows);
        }
        else
        {
            // the rope tables hold one row per query row, so query row t reads table row t
            var absorb = new MlaAbsorbLaunch(device, q.View, queries.View, rope is null ? null : storage.RowIndices(rows), rope, rows, dims);
            KernelWeight.ApplyTo(kvB, ref absorb);
        }

        if (!CacheRun.CoverEveryRow(segments, rows))
        {
            // the attention kernels write every row of their segment (0 for a query without keys); other rows stay 0
            TensorKernels.LaunchFillFloat(device, latentOutput.View, 0f, checked((int)(rows * dims.Heads * dims.LatentDim)));
        }

        if (selected is not null && selected.Rows != rows)
        {
            throw new ArgumentException($"selected keys {selected} must have one row per query row ({rows})");
        }

        // One launch sequence per run of segments that share a cache: a decode batch of sequences in one paged pool is one.
        foreach (var run in CacheRun.Split(segments))
        {
            var table = pages.For(run);
            var runQueries = queries.View.SubView((long)run.FirstRow * dims.Heads * rowLength, (long)run.Rows * dims.Heads * rowLength);
            var runOutput = latentOutput.View.SubView((long)run.FirstRow * dims.Heads * dims.LatentDim, (long)run.Rows * dims.Heads * dims.LatentDim);
            var segment = run.First;
            bool tensorCores = AttendsOnTensorCores(run, dims);

            // The one place the cache's format is looked at: the kernels below are compiled per row format.
            if (segment.Latent is Fp8LatentCachePart fp8)
            {
                if (segment.RopeKeys is not Fp8LatentCachePart ropePart || !ReferenceEquals(ropePart.Cache, fp8.Cache) || fp8.Columns != dims.LatentDim || ropePart.Columns != dims.RopeDim)
                {
                    throw new ArgumentException($"the FP8 latent cache {fp8} must come with its own rope part of {dims.RopeDim} columns (got {segment.RopeKeys})");
                }

                if (tensorCores)
                {
                    AttendOnTensorCores(fp8.Cache.Rows, run, table, runQueries, runOutput, dims, softmaxScale, selected);
                }
                else
                {
                    Attend(fp8.Cache.Rows, run, table, runQueries, runOutput, dims, softmaxScale, selected);
                }

                continue;
            }

            var latent = KernelModelBackend.Kernel(segment.Latent);     // [cache rows, latent]
            var ropeKeys = KernelModelBackend.Kernel(segment.RopeKeys); // [cache rows, rope]
            BackendArguments.RequireColumns(latent, dims.LatentDim, "latent cache");
            BackendArguments.RequireColumns(ropeKeys, dims.RopeDim, "rope key cache");

            // The kernels read one cache of rows [c ‖ k_pe]: the caches from AllocateLatentCache are exactly that (no copy);
            // separately made (unpaged) tensors are laid side by side first.
            var sideBySide = KernelTensor.AreSideBySide(latent, ropeKeys);
            if (!sideBySide && run.BlockSize != 0)
            {
                throw new ArgumentException($"a paged cache must be one buffer of rows [c ‖ k_pe] (AllocateLatentCache); got {latent} and {ropeKeys}");
            }

            using var arranged = sideBySide ? null : ArrangeSideBySide(latent, ropeKeys, run.KeyCount);
            var cache = arranged?.View ?? latent.StorageView; // [cache rows (or keys), latent+rope]
            if (tensorCores)
            {
                AttendOnTensorCores(new F32Rows(cache), run, table, runQueries, runOutput, dims, softmaxScale, selected);
                continue;
            }

            Attend(new F32Rows(cache), run, table, runQueries, runOutput, dims, softmaxScale, selected);
        }

        if (onTensorCores is not null)
        {
            onTensorCores.UpProject(latentOutput.View, output.View, rows);
        }
        else
        {
            var upProject = new MlaUpProjectLaunch(device, latentOutput.View, output.View, rows, dims);
            KernelWeight.ApplyTo(kvB, ref upProject);
        }

        return output;
    }

    /// <summary>
    /// A prompt chunk's kv_b projections run on tensor cores (<see cref="TensorCoreMlaProjections"/>) when the prefill does
    /// and the chunk has more rows than a decode batch, the rule the Linear layers follow (<see cref="KernelModelBackend.Linear"/>);
    /// decode keeps the exact fp32 kernels.
    /// </summary>
    private bool ProjectsOnTensorCores(int rows) => backend.PromptOnTensorCores && rows > KernelModelBackend.GemvMaxRows;

    /// <summary>o_lat of one run's rows over its cache (rows [c ‖ k_pe] in any row format): dense causal, or over the selected keys.</summary>
    private void Attend<TCache>(TCache cache, CacheRun run, DevicePages table, ArrayView<float> runQueries, ArrayView<float> runOutput,
        MlaDimensions dims, float softmaxScale, KernelIndexTensor? selected)
        where TCache : struct, IRowFormat<TCache>
    {
        var device = storage.Device;
        bool warpHeads = UsesWarpHeads(device.Backend, dims);
        if (selected is null)
        {
            // Dense decode (contexts below index_topk, dense models) splits its keys like the sparse path: the run's
            // longest sequence bounds the tiles, and a shorter one's trailing slices are empty.
            int denseSplits = KeySplits(device.Backend, run.Rows, dims.Heads, run.KeyCount);
            if (denseSplits == 1)
            {
                LaunchAttention(warpHeads, runQueries, cache, new DenseKeys(table.Keys), runOutput, ArrayView<float>.Empty, run.Rows, dims, softmaxScale);
            }
            else
            {
                using var densePartials = storage.Buffer<float>((long)run.Rows * denseSplits * dims.Heads * dims.LatentDim); // [rows, splits, heads, latent]
                using var denseStats = storage.Buffer<float>((long)run.Rows * denseSplits * dims.Heads * 2);                  // [rows, splits, heads, (max, sum)]
                LaunchAttention(warpHeads, runQueries, cache, new DenseKeySlices(table.Keys, denseSplits), densePartials.View, denseStats.View, run.Rows, dims, softmaxScale);
                MlaKernels.CombineSlices(device, densePartials.View, denseStats.View, runOutput, run.Rows, dims.Heads, dims.LatentDim, denseSplits);
            }

            return;
        }

        var k = selected.Columns;
        using var compacted = storage.Buffer<int>((long)run.Rows * k); // [rows, k]: the visible keys' cache rows first
        using var counts = storage.Buffer<int>(run.Rows);              // [rows]
        SelectionKernels.LaunchCompactSelection(device, selected.RowsView(run.FirstRow, run.Rows), table.Keys, compacted.View, counts.View, run.Rows, k);
        int splits = KeySplits(device.Backend, run.Rows, dims.Heads, k);
        if (splits == 1)
        {
            LaunchAttention(warpHeads, runQueries, cache, new SelectedKeys(compacted.View, counts.View, k), runOutput, ArrayView<float>.Empty, run.Rows, dims, softmaxScale);
        }
        else
        {
            // Decode: one group per (query, head block) would give a handful of groups on a 132-SM GPU (measured on the
            // H200: 3.5 ms for 2048 keys at batch 1). Split the selected keys across groups and merge the partial softmaxes.
            using var partialOutput = storage.Buffer<float>((long)run.Rows * splits * dims.Heads * dims.LatentDim); // [rows, splits, heads, latent]
            using var partialStats = storage.Buffer<float>((long)run.Rows * splits * dims.Heads * 2);                // [rows, splits, heads, (max, sum)]
            LaunchAttention(warpHeads, runQueries, cache, new SelectedKeySlices(compacted.View, counts.View, k, splits), partialOutput.View, partialStats.View,
                run.Rows, dims, softmaxScale);
            // Merged by CombineFewMlaSplits up to 4 slices on GPUs (a batched step has 2–3; faster there than CombineMlaSplits,
            // docs/perf/kernel-rows-before-after.md), else CombineMlaSplits.
            MlaKernels.CombineSlices(device, partialOutput.View, partialStats.View, runOutput, run.Rows, dims.Heads, dims.LatentDim, splits);
        }
    }

    /// <summary>
    /// A prompt chunk of one sequence (more rows than a decode batch) when the prefill runs on tensor cores and the
    /// latent rows are DeepSeek-V3.2's 512 + 64, the shape <see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/> is built for.
    /// Decode steps, batches of several sequences and other widths keep the fp32 kernels.
    /// </summary>
    private bool AttendsOnTensorCores(CacheRun run, MlaDimensions dims) =>
        backend.PromptOnTensorCores && run.Segments.Count == 1 && run.Rows > KernelModelBackend.GemvMaxRows
        && dims.LatentDim == MlaTensorCoreTile.LatentDim && dims.RopeDim == MlaTensorCoreTile.RopeDim;

    /// <summary>
    /// o_lat of one sequence's prompt rows on tensor cores, as transformers' bf16 prefill computes attention: the keys the
    /// rows can see (fp32, or the FP8 cache decoded with its scales) are copied once in position order as bf16 (<see cref="PagingKernels.GatherCacheRowsBf16"/>, a memory-bound
    /// pass over at most a prompt's keys), and <see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/> (bf16 mma, fp32
    /// online softmax, P rounded to bf16) attends each row's selected keys, or, for dense causal attention, one shared
    /// list 0..keys − 1 of which row r reads the first position(r) + 1. Moves the output by ~1e-3 relative (queries,
    /// keys and P in bf16), inside the bf16 prefill's contract.
    /// </summary>
    private void AttendOnTensorCores<TCache>(TCache cache, CacheRun run, DevicePages table, ArrayView<float> runQueries, ArrayView<float> runOutput,
        MlaDimensions dims, float softmaxScale, KernelIndexTensor? selected)
        where TCache : struct, IRowFormat<TCache>
    {
        var device = storage.Device;
        int rows = run.Rows, keys = run.KeyCount, rowLength = dims.LatentDim + dims.RopeDim;
        using var keyRows = storage.Buffer<ushort>((long)keys * rowLength); // [keys, latent+rope] bf16, key p at row p
        PagingKernels.LaunchGatherCacheRowsBf16(device, cache, table.Keys, keyRows.View, keys, rowLength);
        using var counts = storage.Buffer<int>(rows); // [rows] keys each row attends
        using var compacted = selected is null ? null : storage.Buffer<int>((long)rows * selected.Columns); // [rows, k] visible selected positions first
        ArrayView<int> lists;
        int stride, longest;
        if (compacted is null)
        {
            // Row r (position start + r) sees keys 0..start + r: the first start + r + 1 entries of the shared list.
            TensorKernels.LaunchFillRange(device, counts.View, run.First.StartPosition + 1, rows);
            (lists, stride, longest) = (storage.RowIndices(keys), 0, keys);
        }
        else
        {
            // Positions, not cache rows: the gathered copy is indexed by position.
            SelectionKernels.LaunchCompactSelection(device, selected!.RowsView(run.FirstRow, rows), KeyPages.Contiguous(table.Positions), compacted.View,
                counts.View, rows, selected.Columns);
            (lists, stride, longest) = (compacted.View, selected.Columns, selected.Columns);
        }

        int splits = SparseMlaTensorCorePlan.Splits(rows, dims.Heads, longest, device.Accelerator.NumMultiprocessors);
        var (partialLength, statsLength) = SparseMlaTensorCorePlan.PartialLengths(rows, dims.Heads, splits);
        using var partialOutput = splits > 1 ? storage.Buffer<float>(partialLength) : null; // [rows, splits, heads, latent]
        using var partialStats = splits > 1 ? storage.Buffer<float>(statsLength) : null;    // [rows, splits, heads, 2]
        SparseMlaTensorCorePlan.Launch(device, runQueries, keyRows.View, lists, counts.View, runOutput, partialOutput?.View ?? ArrayView<float>.Empty,
            partialStats?.View ?? ArrayView<float>.Empty, rows, dims.Heads, stride, splits, softmaxScale);
    }

    /// <summary>
    /// GPUs run the warp-heads layout (<see cref="MlaKernels.MlaAttentionWarpHeads{TCache, TKeys}"/>: a key tile staged
    /// once in shared memory for 16 heads, query and sums in registers); the host backends keep the thread-per-pair
    /// layout, whose steps have host twins. Both compute the reference's sums in fp32; a query's result never depends
    /// on the other queries of the launch in either.
    /// </summary>
    internal static bool UsesWarpHeads(KernelBackend backend, MlaDimensions dims) =>
        backend is KernelBackend.Cuda or KernelBackend.OpenCL && dims.LatentDim + dims.RopeDim <= MlaKernels.WarpHeadsMaxRowLength;

    private void LaunchAttention<TCache, TKeys>(bool warpHeads, ArrayView<float> queries, TCache cache, TKeys keys, ArrayView<float> output,
        ArrayView<float> partialStats, int rows, MlaDimensions dims, float softmaxScale)
        where TCache : struct, IRowFormat<TCache>
        where TKeys : struct, IMlaKeySource<TKeys>
    {
        if (warpHeads)
        {
            MlaKernels.LaunchMlaAttentionWarpHeads(storage.Device, queries, cache, keys, output, partialStats, rows, dims.Heads, dims.LatentDim, dims.RopeDim, softmaxScale);
        }
        else
        {
            MlaKernels.LaunchMlaAttention(storage.Device, queries, cache, keys, output, partialStats, rows, dims.Heads, dims.LatentDim, dims.RopeDim, softmaxScale);
        }
    }

    /// <summary>Rows 0..keys − 1 of two separate caches as one buffer [keys, latent+rope] of rows [c ‖ k_pe].</summary>
    private DeviceBuffer<float> ArrangeSideBySide(KernelTensor latent, KernelTensor ropeKeys, int keys)
    {
        var rowLength = latent.Columns + ropeKeys.Columns;
        var cache = storage.Buffer<float>((long)keys * rowLength); // [keys, latent+rope]
        TensorKernels.LaunchCopyBlock(storage.Device, latent.StorageView, cache.View, keys, latent.Columns, latent.RowStride, latent.ColumnOffset, rowLength, 0);
        TensorKernels.LaunchCopyBlock(storage.Device, ropeKeys.StorageView, cache.View, keys, ropeKeys.Columns, ropeKeys.RowStride, ropeKeys.ColumnOffset, rowLength, latent.Columns);
        return cache;
    }

    /// <summary>
    /// How many slices of the keys an attention call is split into: 1 for prefill-sized batches and on ILGPU's CPU
    /// accelerator; on a GPU enough to give about 1024 groups of the warp-heads layout (16 heads, 256 threads each); on
    /// the fast CPU path enough for every host thread (<paramref name="hostThreads"/>, default <see cref="CpuGrid.Threads"/>)
    /// to have a group: a decode step of one sequence with 8 heads is one group of <see cref="MlaTile.HeadsPerGroup"/>
    /// heads, which left the other cores waiting. Never more than one slice per key tile (and 128 slices).
    /// </summary>
    internal static int KeySplits(KernelBackend backend, int rows, int heads, int selectedKeys, int hostThreads = 0)
    {
        int tiles = (selectedKeys + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile;
        if (backend == KernelBackend.FastCpu)
        {
            int threads = hostThreads > 0 ? hostThreads : CpuGrid.Threads;
            int cpuGroups = rows * ((heads + MlaTile.HeadsPerGroup - 1) / MlaTile.HeadsPerGroup);
            return Math.Clamp(Math.Min((threads + cpuGroups - 1) / cpuGroups, tiles), 1, 128);
        }

        if (backend is not (KernelBackend.Cuda or KernelBackend.OpenCL))
            return 1;
        int headBlocks = (heads + MlaKernels.WarpHeadsPerGroup - 1) / MlaKernels.WarpHeadsPerGroup;
        int groups = rows * headBlocks;
        // About 1024 groups: a group's registers (two heads' query chunks and sums per lane) leave room for two per SM,
        // so this is ~4 waves on 132 SMs; more slices would only add partial rows for CombineMlaSplits to read.
        int wanted = (1024 + groups - 1) / groups;
        return Math.Clamp(Math.Min(wanted, tiles), 1, 128);
    }
}

/// <summary>cos and sin [T, rope/2] for a query whose q_pe the attention rotates itself.</summary>
internal sealed record QueryRope(KernelTensor Cos, KernelTensor Sin);
