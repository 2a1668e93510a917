using ILGPU;
using KernelSharp.Dsl;
using static KernelSharp.Kernels.Attention.MlaTensorCoreTile;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Sparse MLA attention (absorbed form) over a bf16 latent cache on tensor cores, FlashMLA style: one group of 4 warps
/// per (query, 16 heads, key slice), 32-key tiles gathered with cp.async, S = Q·Kᵀ and O += P·V with bf16
/// mma.sync m16n8k16 (fp32 accumulators, fp32 online softmax); the steps are in <see cref="MlaTensorCoreTile"/>.
/// Queries are fp32 and rounded to bf16 for the mma, as is P. Built for kv_lora_rank 512 and rope 64 (DeepSeek-V3.2);
/// <see cref="SparseMlaTensorCorePlan"/> checks the shapes and picks the key splits.
/// With <c>splits == 1</c> the kernel writes the normalized o_lat [Q, H, 512] into <c>output</c>; with more, each
/// slice writes its unnormalized accumulator into <c>output</c> as [Q, splits, H, 512] and (max, sum) into
/// <c>partialStats</c>, which <see cref="MlaKernels.CombineMlaSplits"/> merges (slices with no key write (−∞, 0)).
/// Measured against PyTorch by tools/gpu/KernelBench; the runtime runs a prompt's attention with it when the prefill is
/// on tensor cores, over the sequence's keys gathered to bf16 (<see cref="Paging.PagingKernels.GatherCacheRowsBf16"/>).
/// </summary>
public static partial class MlaTensorCoreKernels
{
    // Grid X walks the head blocks and slices of one query, so the groups launched together gather the same cache
    // rows (8 head blocks at 128 heads): one reads them from HBM, the others mostly from L2.
    [Kernel(Grid = "((heads + 15) / 16) * splits", GridY = "queryCount", GroupSize = "128")]
    public static void SparseMlaTensorCore(
        ArrayView<float> queries,      // [Q, H, 576] per head [q_abs ‖ q_pe]
        ArrayView<ushort> kvCache,     // [Tc, 576] per token [c ‖ k_pe], bf16 bits; starts on 16 bytes
        ArrayView<int> selected,       // [Q, selectedStride] cache rows each query attends; first counts[q] used, any order
        ArrayView<int> counts,         // [Q] selected keys per query (0 gives a zero output)
        ArrayView<float> output,       // splits == 1: [Q, H, 512] o_lat; else [Q, splits, H, 512] unnormalized slices
        ArrayView<float> partialStats, // [Q, splits, H, 2] (max, sum) per slice; unused when splits == 1
        int queryCount,
        int heads,
        int selectedStride,
        int splits,
        float scale)
    {
        int query = Grid.IdxY;
        int headBlocks = (heads + HeadsPerGroup - 1) / HeadsPerGroup;
        int headBase = Grid.IdxX % headBlocks * HeadsPerGroup;
        int split = Grid.IdxX / headBlocks;
        int thread = Group.IdxX;
        int warp = thread >> 5;
        int lane = thread & 31;
        int headsHere = Math.Min(HeadsPerGroup, heads - headBase);
        long firstQueryRow = (long)query * heads + headBase;
        long firstSelected = (long)query * selectedStride;
        var kvTile = SharedMemory.Allocate<ushort>(KeysPerTile * TileStride);                  // [32 keys, 584] bf16
        var partialScores = SharedMemory.Allocate<float>(Warps * HeadsPerGroup * KeysPerTile); // [4 warps, 16 heads, 32 keys]
        // Slices are whole tiles, so every slice but the last starts and ends on a tile boundary.
        int count = counts[query];
        int tilesPerSplit = ((count + KeysPerTile - 1) / KeysPerTile + splits - 1) / splits;
        int sliceStart = split * tilesPerSplit * KeysPerTile;
        int sliceEnd = Math.Min(count, sliceStart + tilesPerSplit * KeysPerTile);
        int tiles = sliceEnd > sliceStart ? (sliceEnd - sliceStart + KeysPerTile - 1) / KeysPerTile : 0;
        var queryFragments = LoadQuery(queries, firstQueryRow, headsHere, warp, lane);
        var state = InitialState();

        for (int tile = 0; tile < tiles; tile++)
        {
            int tileStart = sliceStart + tile * KeysPerTile;
            int tileKeys = Math.Min(KeysPerTile, sliceEnd - tileStart);
            GatherTile(kvCache, selected, firstSelected + tileStart, tileKeys, kvTile, thread);
            TensorCore.CopyAsyncCommit();
            TensorCore.CopyAsyncWait(0);
            Group.Barrier(); // the tile has landed (every thread's copies)
            var scores = ScoreSlice(new ScoreOperands(kvTile, queryFragments, queries, firstQueryRow, headsHere, warp, lane));
            StorePartialScores(partialScores, scores, warp, lane);
            Group.Barrier(); // every warp's partial scores are in
            state = AttendTile(new AttendOperands(partialScores, kvTile, tileKeys, scale, warp, state));
            Group.Barrier(); // nobody reads the tile or the scores any more: the next gather may overwrite them
        }

        if (splits == 1)
        {
            WriteRows(output, firstQueryRow, headsHere, state, warp, lane,
                state.Sum0 > 0f ? 1f / state.Sum0 : 0f, state.Sum1 > 0f ? 1f / state.Sum1 : 0f);
        }
        else
        {
            long firstSliceRow = ((long)query * splits + split) * heads + headBase;
            WriteRows(output, firstSliceRow, headsHere, state, warp, lane, 1f, 1f);
            int g = lane >> 2;
            if (warp == 0 && (lane & 3) == 0)
            {
                if (g < headsHere)
                {
                    partialStats[(firstSliceRow + g) * 2] = state.Max0;
                    partialStats[(firstSliceRow + g) * 2 + 1] = state.Sum0;
                }
                if (g + 8 < headsHere)
                {
                    partialStats[(firstSliceRow + g + 8) * 2] = state.Max1;
                    partialStats[(firstSliceRow + g + 8) * 2 + 1] = state.Sum1;
                }
            }
        }
    }
}
