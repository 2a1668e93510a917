using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

public static partial class GemvKernels
{
    /// <summary>
    /// Decode GEMV on the tensor cores, for one sequence or a batch of them: y[b, o] = Σ_i W[o, i] · x[b, i] with W in
    /// bf16 or e4m3 with 128×128 block scales (<see cref="ITensorCoreRows{TSelf}"/>), x and y fp32. A group of 4 warps
    /// owns 8·rowTiles weight rows and up to 16·itemTiles items; its warps split the columns by 128-column k-blocks
    /// (warp w takes blocks w, w + 4, …) and meet in shared memory at the end. The items are a decode batch
    /// (<see cref="BatchItems"/>) or the slots of one routed expert per group (<see cref="ExpertSlotItems"/>: the weights
    /// are then a stack, and each group multiplies its expert's matrix).
    /// </summary>
    /// <remarks>
    /// <para><b>Why.</b> The CUDA-core <see cref="GemvRows{TWeights}"/> reads each weight chunk once per 4 batch items, so
    /// a batch of 64 reads the weights 16 times; here each weight value is read once for up to 64 items and the products
    /// are <c>mma.sync m16n8k16</c> (the weight rows are the 8 columns of the mma, the items its 16 rows).</para>
    /// <para><b>fp32 activations on bf16 tensor cores.</b> Each activation is split into <c>hi = bf16(x)</c> and
    /// <c>lo = bf16(x − hi)</c> once per launch (<see cref="SplitToBf16Pairs"/>), and both are multiplied (two mmas into
    /// the same accumulator): the weights are exact in bf16, the products are exact in fp32, and what the split drops is
    /// below 2⁻¹⁶ of x, so the sums stay close to an fp32 GEMV's (not the bf16 prefill contract).</para>
    /// <para><b>K order.</b> A dot product may visit the columns in any order both operands agree on: lane column
    /// t = lane % 4 of k-step j in a 64-column half holds columns <c>16t + 4j … + 3</c> (fragment k rows 2t, 2t+1 ↔ +0,
    /// +1; rows 2t+8, 2t+9 ↔ +2, +3), so a lane loads its weight row's 16 consecutive values of the half with 16-byte
    /// loads and its items' 4 consecutive activations with one float4 per item and k-step.</para>
    /// <para><b>A sequence's result does not depend on its batch.</b> A sum's additions are the k-blocks of its warp in
    /// order, the halves, the k-steps, hi then lo, then the four warps' totals in warp order; the mma adds each output
    /// from its own item row only. None of this depends on the batch, the item tile or rowTiles, so the autotuner may
    /// pick rowTiles per shape and the caller itemTiles per batch.</para>
    /// <para>Requires cols a multiple of 128 and every view's first value on 16 bytes
    /// (<see cref="ITensorCoreRows{TSelf}.TensorCoreReadable"/>); the runtime takes <see cref="GemvRows{TWeights}"/> otherwise.
    /// An e4m3 NaN code makes its row's outputs NaN, as in the other GEMVs.</para>
    /// </remarks>
    [Kernel(Grid = "(rows + 8 * rowTiles - 1) / (8 * rowTiles)", GridY = "groups", GroupSize = "128")]
    public static void TensorCoreGemv<TWeights, TItems>(
        TWeights weights,         // [matrices, rows, cols]
        TItems items,             // which input rows each group multiplies, by which matrix
        ArrayView<uint> input,    // [.., cols] the activations split by SplitToBf16Pairs
        ArrayView<float> output,  // [items, rows]
        [Shape] int rows, // [Shape] without values: no folding, but the autotuner keys its choice on (rows, cols)
        [Shape] int cols,
        int groups,
        [Shape(1, 2, 4, SharesTuning = true)] int itemTiles,
        [Constant(1, 2, 4)] int rowTiles)
        where TWeights : struct, ITensorCoreRows<TWeights>
        where TItems : struct, IItemGroups<TItems>
    {
        // Sized for the largest tiles (32 KB + 2 KB), so the kernel as written (tiles passed as arguments: the ILGPU
        // test backends) compiles too; a smaller variant uses the front.
        var partials = SharedMemory.Allocate<float>(WarpsPerGroup * 64 * 32); // [warp][16·itemTiles items][8·rowTiles rows]
        var nanFlags = SharedMemory.Allocate<uint>(WarpsPerGroup * 32 * 4);   // [warp][8·rowTiles rows][lane column]
        int thread = Group.IdxX;
        int lane = thread & 31;
        int warp = thread >> 5;
        int fragmentRow = lane >> 2;    // g: weight row g of each row tile; items g and g + 8 of each item tile
        int fragmentColumn = lane & 3;  // t: columns 16t … 16t + 15 of each 64-column half
        int groupRows = 8 * rowTiles;
        int groupItems = 16 * itemTiles;
        var range = items.Range(Grid.IdxY, groupItems);
        if (range.First < 0)
            return; // a group past the last expert's slots (the grid is sized for the worst case): the whole group leaves
        var weight = weights.Matrix(range.Matrix, rows, cols);
        int firstRow = Grid.IdxX * groupRows;
        var weightRows = TensorCoreGemvTiles.RowsOf(rows, firstRow + fragmentRow);
        var itemStarts = TensorCoreGemvTiles.ItemsOf(items, range, cols, range.First + fragmentRow);
        int kBlocks = cols / TensorCoreGemvTiles.KBlock;
        int rounds = (kBlocks + WarpsPerGroup - 1) / WarpsPerGroup; // the same for every warp (CPU-path rule); the last
                                                                  // round's spare warps multiply zeros
        var totals = new GemvTileSums();
        var nan = new TileNaNFlags();
        for (int round = 0; round < rounds; round++)
        {
            int block = round * WarpsPerGroup + warp;
            bool active = block < kBlocks;
            int readBlock = active ? block : kBlocks - 1;
            var loads = TensorCoreGemvTiles.LoadBlock(weight, weightRows, cols, readBlock * TensorCoreGemvTiles.KBlock + 16 * fragmentColumn, rowTiles);
            var sums = weight.UsesBlockScales() ? new GemvTileSums() : totals;
            for (int half = 0; half < 2; half++)
            {
                for (int rt = 0; rt < rowTiles; rt++)
                    nan = nan.With(rt, nan.At(rt) | (active ? weight.NaNFlagsOf(loads.At(rt, half)) : 0u));
                var w0 = active ? weight.Bf16Of(loads.At(0, half)) : new Words8();
                var w1 = active && rowTiles > 1 ? weight.Bf16Of(loads.At(1, half)) : new Words8();
                var w2 = active && rowTiles > 2 ? weight.Bf16Of(loads.At(2, half)) : new Words8();
                var w3 = active && rowTiles > 2 ? weight.Bf16Of(loads.At(3, half)) : new Words8();
                long column = (long)readBlock * TensorCoreGemvTiles.KBlock + 64 * half + 16 * fragmentColumn;
                for (int step = 0; step < 4; step++)
                {
                    for (int it = 0; it < itemTiles; it++)
                    {
                        var x = TensorCoreGemvTiles.SplitActivations(input, itemStarts, it, column + 4 * step, active);
                        for (int rt = 0; rt < rowTiles; rt++)
                        {
                            var words = rt == 0 ? w0 : rt == 1 ? w1 : rt == 2 ? w2 : w3;
                            uint b0 = words.Word(2 * step);
                            uint b1 = words.Word(2 * step + 1);
                            MmaAccumulator high = TensorCore.MmaBf16(new MmaBf16Fragments(sums.At(it, rt), x.Hi0, x.Hi1, x.Hi2, x.Hi3, b0, b1));
                            MmaAccumulator both = TensorCore.MmaBf16(new MmaBf16Fragments(high, x.Lo0, x.Lo1, x.Lo2, x.Lo3, b0, b1));
                            sums = sums.With(it, rt, both);
                        }
                    }
                }
            }
            if (weight.UsesBlockScales())
            {
                // This k-block's sums times its scale (one per row tile: a tile's 8 rows share a 128-row block).
                for (int rt = 0; rt < rowTiles; rt++)
                {
                    float scale = active ? weight.BlockScale(weightRows.Row(rt), cols, readBlock) : 0f;
                    for (int it = 0; it < itemTiles; it++)
                        totals = totals.With(it, rt, TensorCoreGemvTiles.AddScaled(totals.At(it, rt), sums.At(it, rt), scale));
                }
            }
            else
            {
                totals = sums;
            }
        }

        // Each warp's sums into shared memory: accumulator C0/C1 are item g × rows 2t, 2t + 1; C2/C3 item g + 8.
        for (int it = 0; it < itemTiles; it++)
        {
            for (int rt = 0; rt < rowTiles; rt++)
                TensorCoreGemvTiles.StoreTile(partials, totals.At(it, rt), (warp * groupItems + 16 * it + fragmentRow) * groupRows
                    + 8 * rt + 2 * fragmentColumn, 8 * groupRows);
        }
        for (int rt = 0; rt < rowTiles; rt++)
            nanFlags[((warp * groupRows) + 8 * rt + fragmentRow) * 4 + fragmentColumn] = nan.At(rt);
        KsGroup.Barrier();
        for (int i = thread; i < groupItems * groupRows; i += WarpsPerGroup * KsWarp.Size)
        {
            int item = i / groupRows;
            int localRow = i & (groupRows - 1); // groupRows is 8, 16 or 32
            int row = firstRow + localRow;
            if (range.First + item < range.End && row < rows)
                output[(long)(range.First + item) * rows + row] = TensorCoreGemvTiles.RowTotal(partials, nanFlags, item, localRow, groupItems, groupRows);
        }
    }
}
