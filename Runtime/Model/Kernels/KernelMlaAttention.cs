using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Sparse / dense MLA attention in the absorbed form on the kernel library: q_abs = q_nope·W_k per head
/// (AbsorbQuery), attention over the latent cache rows [c ‖ k_pe] (MlaAttention over dense, selected or sliced keys,
/// online softmax in fp32), then o = o_lat·W_vᵀ per head (UpProjectOutput).
/// </summary>
internal sealed class KernelMlaAttention(KernelStorage storage) : IDisposable
{
    /// <summary>
    /// Per segment slot (segment i of a call uses slot i), the query positions last written: every layer of a step
    /// sees the same segments, so only the first layer fills them ([capacity] ints, positions start .. start + count − 1).
    /// </summary>
    private readonly List<(int Start, int Count, DeviceBuffer<int> Buffer)> positionSlots = [];

    /// <param name="q">[T, heads·(nope+rope)], q_pe rotated.</param>
    /// <param name="kvB">kv_b_proj [heads·(nope+v), latent].</param>
    /// <param name="selected">[T, k] key indices (−1 = empty) or null for dense causal attention.</param>
    /// <returns>[T, heads·v]</returns>
    /// <param name="rope">cos/sin [T, rope/2] when q_pe is still to be rotated (done by the absorb kernel), else null.</param>
    public KernelTensor Forward(KernelTensor q, KernelTensor kvB, MlaDimensions dims, float softmaxScale, IReadOnlyList<AttentionSegment> segments, KernelIndexTensor? selected,
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
        if (rope is null)
        {
            MlaKernels.LaunchAbsorbQuery(device, q.View, new F32Rows(kvB.View), queries.View, rows, dims.Heads, dims.NopeDim, dims.RopeDim, dims.ValueDim, dims.LatentDim);
        }
        else
        {
            if (rope.Cos.Rows != rows || rope.Sin.Rows != rows || rope.Cos.Columns != dims.RopeDim / 2 || rope.Sin.Columns != dims.RopeDim / 2)
            {
                throw new ArgumentException($"rope tables {rope.Cos}/{rope.Sin} must be [{rows}, {dims.RopeDim / 2}]");
            }

            // the tables hold one row per query row, so query row t reads table row t
            MlaKernels.LaunchAbsorbQueryRope(device, q.View, new F32Rows(kvB.View), queries.View, storage.RowIndices(rows), rope.Cos.View, rope.Sin.View,
                rows, dims.Heads, dims.NopeDim, dims.RopeDim, dims.ValueDim, dims.LatentDim);
        }

        if (!CoverEveryRow(segments, rows))
        {
            // the attention kernels write every row of their segment (0 for a query without keys); other rows stay 0
            TensorKernels.LaunchFillFloat(device, latentOutput.View, 0f, checked((int)(rows * dims.Heads * dims.LatentDim)));
        }

        if (selected is not null && selected.Rows != rows)
        {
            throw new ArgumentException($"selected keys {selected} must have one row per query row ({rows})");
        }

        for (var segmentIndex = 0; segmentIndex < segments.Count; segmentIndex++)
        {
            var segment = segments[segmentIndex];
            var positions = Positions(segmentIndex, segment.StartPosition, segment.RowCount); // [rows of the segment]: StartPosition, StartPosition + 1, …
            var segmentQueries = queries.View.SubView((long)segment.FirstRow * dims.Heads * rowLength, (long)segment.RowCount * dims.Heads * rowLength);
            var segmentOutput = latentOutput.View.SubView((long)segment.FirstRow * dims.Heads * dims.LatentDim, (long)segment.RowCount * dims.Heads * dims.LatentDim);

            // The one place the cache's format is looked at: the kernels below are compiled per row format.
            if (segment.Latent is Fp8LatentCachePart fp8)
            {
                if (segment.RopeKeys is not Fp8LatentCachePart ropePart || !ReferenceEquals(ropePart.Cache, fp8.Cache) || fp8.Columns != dims.LatentDim || ropePart.Columns != dims.RopeDim)
                {
                    throw new ArgumentException($"the FP8 latent cache {fp8} must come with its own rope part of {dims.RopeDim} columns (got {segment.RopeKeys})");
                }

                Attend(fp8.Cache.Rows, segment, positions, segmentQueries, segmentOutput, dims, softmaxScale, selected);
                continue;
            }

            var latent = KernelModelBackend.Kernel(segment.Latent);     // [maxContext, latent]
            var ropeKeys = KernelModelBackend.Kernel(segment.RopeKeys); // [maxContext, rope]
            BackendArguments.RequireColumns(latent, dims.LatentDim, "latent cache");
            BackendArguments.RequireColumns(ropeKeys, dims.RopeDim, "rope key cache");

            // The kernels read one cache of rows [c ‖ k_pe]: the caches from AllocateLatentCache are exactly that (no copy);
            // separately made tensors are laid side by side first.
            using var arranged = KernelTensor.AreSideBySide(latent, ropeKeys) ? null : ArrangeSideBySide(latent, ropeKeys, segment.KeyCount);
            var cache = arranged?.View ?? latent.StorageView; // [keys (or maxContext), latent+rope]
            Attend(new F32Rows(cache), segment, positions, segmentQueries, segmentOutput, dims, softmaxScale, selected);
        }

        MlaKernels.LaunchUpProjectOutput(device, latentOutput.View, new F32Rows(kvB.View), output.View, rows, dims.Heads, dims.NopeDim, dims.ValueDim, dims.LatentDim);
        return output;
    }

    /// <summary>o_lat of one segment's rows over its cache (rows [c ‖ k_pe] in any row format): dense causal, or over the selected keys.</summary>
    private void Attend<TCache>(TCache cache, AttentionSegment segment, ArrayView<int> positions, ArrayView<float> segmentQueries, ArrayView<float> segmentOutput,
        MlaDimensions dims, float softmaxScale, KernelIndexTensor? selected)
        where TCache : struct, IRowFormat<TCache>
    {
        var device = storage.Device;
        if (selected is null)
        {
            MlaKernels.LaunchMlaAttention(device, segmentQueries, cache, new DenseKeys(positions), segmentOutput, ArrayView<float>.Empty,
                segment.RowCount, dims.Heads, dims.LatentDim, dims.RopeDim, softmaxScale);
            return;
        }

        var k = selected.Columns;
        using var compacted = storage.Buffer<int>((long)segment.RowCount * k); // [rows, k]: visible keys first
        using var counts = storage.Buffer<int>(segment.RowCount);              // [rows]
        SelectionKernels.LaunchCompactSelection(device, selected.RowsView(segment.FirstRow, segment.RowCount), positions, compacted.View, counts.View, segment.RowCount, k);
        int splits = KeySplits(device.Backend, segment.RowCount, dims.Heads, k);
        if (splits == 1)
        {
            MlaKernels.LaunchMlaAttention(device, segmentQueries, cache, new SelectedKeys(compacted.View, counts.View, k), segmentOutput, ArrayView<float>.Empty,
                segment.RowCount, dims.Heads, dims.LatentDim, dims.RopeDim, softmaxScale);
        }
        else
        {
            // Decode: one group per (query, 8 heads) would give a handful of groups on a 132-SM GPU (measured on the
            // H200: 3.5 ms for 2048 keys at batch 1). Split the selected keys across groups and merge the partial softmaxes.
            using var partialOutput = storage.Buffer<float>((long)segment.RowCount * splits * dims.Heads * dims.LatentDim); // [rows, splits, heads, latent]
            using var partialStats = storage.Buffer<float>((long)segment.RowCount * splits * dims.Heads * 2);                // [rows, splits, heads, (max, sum)]
            MlaKernels.LaunchMlaAttention(device, segmentQueries, cache, new SelectedKeySlices(compacted.View, counts.View, k, splits), partialOutput.View, partialStats.View,
                segment.RowCount, dims.Heads, dims.LatentDim, dims.RopeDim, softmaxScale);
            MlaKernels.LaunchCombineMlaSplits(device, partialOutput.View, partialStats.View, segmentOutput, segment.RowCount, dims.Heads, dims.LatentDim, splits);
        }
    }

    public void Dispose()
    {
        foreach (var slot in positionSlots)
        {
            slot.Buffer.Dispose();
        }

        positionSlots.Clear();
    }

    /// <summary>True when the segments' rows, laid end to end, are exactly rows 0 .. rows − 1 (the usual batch).</summary>
    private static bool CoverEveryRow(IReadOnlyList<AttentionSegment> segments, int rows)
    {
        var next = 0;
        foreach (var segment in segments)
        {
            if (segment.FirstRow != next)
            {
                return false;
            }

            next += segment.RowCount;
        }

        return next == rows;
    }

    /// <summary>
    /// [count] the positions start .. start + count − 1 on the device, kept in slot <paramref name="slot"/> and refilled
    /// only when they change. Refilling in place is safe: launches run in order, so kernels queued earlier have read
    /// the old values before the fill runs.
    /// </summary>
    private ArrayView<int> Positions(int slot, int start, int count)
    {
        while (positionSlots.Count <= slot)
        {
            positionSlots.Add((-1, 0, storage.Buffer<int>(1)));
        }

        var (cachedStart, cachedCount, buffer) = positionSlots[slot];
        if (cachedStart != start || cachedCount != count)
        {
            if (buffer.Length < count)
            {
                buffer.Dispose();
                buffer = storage.Buffer<int>(count);
            }

            TensorKernels.LaunchFillRange(storage.Device, buffer.View, start, count);
            positionSlots[slot] = (start, count, buffer);
        }

        return buffer.View.SubView(0, count);
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
    /// How many slices of the selected keys a sparse attention call is split into: 1 on the CPU backends and for
    /// prefill-sized batches; on a GPU enough to give about 2048 groups, at most one slice per key tile (and 128 slices).
    /// </summary>
    internal static int KeySplits(KernelBackend backend, int rows, int heads, int selectedKeys)
    {
        if (backend is not (KernelBackend.Cuda or KernelBackend.OpenCL))
            return 1;
        int headBlocks = (heads + MlaTile.HeadsPerGroup - 1) / MlaTile.HeadsPerGroup;
        int groups = rows * headBlocks;
        int tiles = (selectedKeys + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile;
        // ~2048 groups: on the H200 each group's score tile is latency-bound (one thread per head-key dot product), so
        // more groups in flight is what speeds a batch-1 step up (64 slices: ~110 µs per layer for 16 heads × 2048 keys).
        int wanted = (2048 + groups - 1) / groups;
        return Math.Clamp(Math.Min(wanted, tiles), 1, 128);
    }
}

/// <summary>cos and sin [T, rope/2] for a query whose q_pe the attention rotates itself.</summary>
internal sealed record QueryRope(KernelTensor Cos, KernelTensor Sin);
