using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Host side of <see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/>: shape checks with one-line messages, the
/// number of key splits that fills the GPU, and a launch that runs the kernel then, when split,
/// <see cref="MlaKernels.CombineMlaSplits"/>.
/// </summary>
public static class SparseMlaTensorCorePlan
{
    /// <summary>Groups a multiprocessor runs at once (registers: ~170 per thread × 128 threads; shared 45 KB).</summary>
    public const int GroupsPerMultiprocessor = 3;

    /// <summary>Most slices a query's keys are split into.</summary>
    public const int MaxSplits = 64;

    /// <summary>Throws <see cref="ArgumentException"/> when the tensor-core kernel cannot serve these dimensions.</summary>
    public static void Validate(int heads, int latentDim, int ropeDim)
    {
        if (heads < 1)
            throw new ArgumentException($"tensor-core sparse MLA: num_attention_heads must be ≥ 1, got {heads}");
        if (latentDim != MlaTensorCoreTile.LatentDim || ropeDim != MlaTensorCoreTile.RopeDim)
            throw new ArgumentException(
                $"tensor-core sparse MLA: built for kv_lora_rank {MlaTensorCoreTile.LatentDim} and qk_rope_head_dim {MlaTensorCoreTile.RopeDim}, got {latentDim} and {ropeDim}");
    }

    /// <summary>Estimated cost of the combine launch, in tile steps (see <see cref="Splits"/>).</summary>
    public const double CombineLaunchTileSteps = 3.0;

    /// <summary>Bytes HBM moves in one tile step (~1 µs at ~4 TB/s): prices the slice buffers' round trip.</summary>
    public const double BytesPerTileStep = 4e6;

    /// <summary>
    /// Key slices per (query, 16 heads) from a small cost model in units of one group's 32-key tile step (~1 µs on the
    /// H200, an estimate): the kernel takes waves × tiles per slice, with waves = ⌈groups·splits / (multiprocessors ·
    /// <see cref="GroupsPerMultiprocessor"/>)⌉ (a partial last wave costs a whole one); splitting adds the combine
    /// launch and the slice buffers written and read back (Q·H·512 floats each way per slice). The cheapest count wins,
    /// the smallest on ties; at most one slice per 32-key tile and <see cref="MaxSplits"/>.
    /// </summary>
    public static int Splits(int queryCount, int heads, int maxSelected, int multiprocessors)
    {
        long groups = (long)queryCount * ((heads + MlaTensorCoreTile.HeadsPerGroup - 1) / MlaTensorCoreTile.HeadsPerGroup);
        long slots = (long)Math.Max(1, multiprocessors) * GroupsPerMultiprocessor;
        int tiles = Math.Max(1, (maxSelected + MlaTensorCoreTile.KeysPerTile - 1) / MlaTensorCoreTile.KeysPerTile);
        double sliceBufferSteps = (double)queryCount * heads * MlaTensorCoreTile.LatentDim * 2 * sizeof(float) / BytesPerTileStep;
        int best = 1;
        double bestCost = double.MaxValue;
        for (int splits = 1; splits <= Math.Min(tiles, MaxSplits); splits++)
        {
            long waves = (groups * splits + slots - 1) / slots;
            long tilesPerSlice = (tiles + splits - 1) / splits;
            double cost = waves * tilesPerSlice + (splits > 1 ? CombineLaunchTileSteps + splits * sliceBufferSteps : 0);
            if (cost < bestCost)
            {
                best = splits;
                bestCost = cost;
            }
        }
        return best;
    }

    /// <summary>Floats of the slice buffers for <paramref name="splits"/> &gt; 1: ([Q, splits, H, 512], [Q, splits, H, 2]).</summary>
    public static (long Output, long Stats) PartialLengths(int queryCount, int heads, int splits)
        => ((long)queryCount * splits * heads * MlaTensorCoreTile.LatentDim, (long)queryCount * splits * heads * 2);

    /// <summary>
    /// o_lat [Q, H, 512] of every query. With <paramref name="splits"/> = 1 the kernel writes <paramref name="output"/>
    /// directly; otherwise <paramref name="partialOutput"/> and <paramref name="partialStats"/> (sized by
    /// <see cref="PartialLengths"/>) hold the slices before <see cref="MlaKernels.CombineMlaSplits"/>.
    /// </summary>
    public static void Launch(
        KernelDevice device,
        ArrayView<float> queries,       // [Q, H, 576]
        ArrayView<ushort> kvCache,      // [Tc, 576] bf16
        ArrayView<int> selected,        // [Q, selectedStride]
        ArrayView<int> counts,          // [Q]
        ArrayView<float> output,        // [Q, H, 512] out
        ArrayView<float> partialOutput, // [Q, splits, H, 512] scratch (splits > 1)
        ArrayView<float> partialStats,  // [Q, splits, H, 2] scratch (splits > 1)
        int queryCount,
        int heads,
        int selectedStride,
        int splits,
        float scale)
    {
        if (splits == 1)
        {
            MlaTensorCoreKernels.LaunchSparseMlaTensorCore(device, queries, kvCache, selected, counts, output, partialStats,
                queryCount, heads, selectedStride, 1, scale);
            return;
        }
        var (outputLength, statsLength) = PartialLengths(queryCount, heads, splits);
        if (partialOutput.Length < outputLength || partialStats.Length < statsLength)
            throw new ArgumentException($"tensor-core sparse MLA: {splits} splits need {outputLength} + {statsLength} floats of slice buffers, got {partialOutput.Length} + {partialStats.Length}");
        MlaTensorCoreKernels.LaunchSparseMlaTensorCore(device, queries, kvCache, selected, counts, partialOutput, partialStats,
            queryCount, heads, selectedStride, splits, scale);
        MlaKernels.CombineSlices(device, partialOutput, partialStats, output, queryCount, heads, MlaTensorCoreTile.LatentDim, splits);
    }
}
