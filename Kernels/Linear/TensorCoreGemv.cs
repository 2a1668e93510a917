using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

public static partial class GemvKernels
{
    /// <summary>
    /// Decode GEMV on the tensor cores, for one sequence or a batch of them: y[b, o] = Σ_i W[o, i] · x[b, i] with W in
    /// bf16 or e4m3 with 128×128 block scales (<see cref="ITensorCoreRows{TSelf}"/>), x and y fp32. A group of
    /// <paramref name="warps"/> warps owns 8·rowTiles weight rows per warp and up to 16·itemTiles items; it walks its
    /// slice of the 128-column k-blocks in order, each block's activations staged once in shared memory and read by
    /// every warp. The items are a decode batch (<see cref="BatchItems"/>) or the slots of one routed expert per group
    /// (<see cref="ExpertSlotItems"/>: the weights are then a stack, and each group multiplies its expert's matrix).
    /// </summary>
    /// <remarks>
    /// <para><b>Why.</b> The CUDA-core <see cref="GemvRows{TWeights}"/> reads each weight chunk once per 4 batch items, so
    /// a batch of 64 reads the weights 16 times; here each weight value is read once for up to 64 items and the products
    /// are <c>mma.sync m16n8k16</c> (the weight rows are the 8 columns of the mma, the items its 16 rows).</para>
    /// <para><b>Activations once per group.</b> At 64 items the activations of a column (4 bytes per item after the
    /// split) outweigh its weights (2 bytes per row, 1 for e4m3) unless many rows share one read: a group stages each
    /// k-block's activations in shared memory (cp.async, swizzled so that a warp's fragment reads hit 8 distinct bank
    /// groups) and its 4 or 8 warps, each with its own rows, read them there, so 32 to 256 weight rows share every
    /// activation byte fetched. (Splitting the k-blocks between warps, as this kernel first did, let only 32 rows share it,
    /// and a batch of 64 then ran at 0.08 of the copy ceiling.)</para>
    /// <para><b>k-slices.</b> A matrix with few rows has few groups; <paramref name="kSlices"/> &gt; 1 splits its k-blocks
    /// into that many consecutive slices, each group writing its slice's sums to <paramref name="output"/> at slice ·
    /// <paramref name="sliceStride"/>, and <see cref="SumKSlices"/> adds the slices in order. The caller picks kSlices from
    /// the shape alone.</para>
    /// <para><b>fp32 activations on bf16 tensor cores.</b> Each activation is split into <c>hi = bf16(x)</c> and
    /// <c>lo = bf16(x − hi)</c> once per launch (<see cref="SplitToBf16Pairs"/>), and both are multiplied (two mmas into
    /// the same accumulator): the weights are exact in bf16, the products are exact in fp32, and what the split drops is
    /// below 2⁻¹⁶ of x, so the sums stay close to an fp32 GEMV's (not the bf16 prefill contract).</para>
    /// <para><b>K order.</b> A dot product may visit the columns in any order both operands agree on: lane column
    /// t = lane % 4 of k-step j in a 64-column half holds columns <c>16t + 4j … + 3</c> (fragment k rows 2t, 2t+1 ↔ +0,
    /// +1; rows 2t+8, 2t+9 ↔ +2, +3), so a lane loads its weight row's 16 consecutive values of the half with 16-byte
    /// loads and its items' 4 consecutive activations with one 16-byte shared load per item and k-step.</para>
    /// <para><b>A sequence's result does not depend on its batch.</b> A sum's additions are its slice's k-blocks in
    /// order, the halves, the k-steps, hi then lo, then the slices in order; the mma adds each output from its own item
    /// row only. None of this depends on the batch, the item tile, rowTiles or warps, so the autotuner may pick rowTiles
    /// and warps per shape and the caller itemTiles per batch; kSlices changes the order, so the caller derives it
    /// from the shape only.</para>
    /// <para>Requires cols a multiple of 128 and every view's first value on 16 bytes
    /// (<see cref="ITensorCoreRows{TSelf}.TensorCoreReadable"/>); the runtime takes <see cref="GemvRows{TWeights}"/> otherwise.
    /// An e4m3 NaN code makes its row's outputs NaN, as in the other GEMVs.</para>
    /// </remarks>
    [Kernel(Grid = "(rows + 8 * rowTiles * warps - 1) / (8 * rowTiles * warps)", GridY = "groups * kSlices", GroupSize = "32 * warps")]
    public static void TensorCoreGemv<TWeights, TItems>(
        TWeights weights,         // [matrices, rows, cols]
        TItems items,             // which input rows each group multiplies, by which matrix
        ArrayView<uint> input,    // [.., cols] the activations split by SplitToBf16Pairs
        ArrayView<float> output,  // [kSlices][items, rows]: the sums of each slice of the k-blocks
        [Shape] int rows, // [Shape] without values: no folding, but the autotuner keys its choice on (rows, cols)
        [Shape] int cols,
        int groups,
        int kSlices,
        long sliceStride,         // floats from one slice's sums to the next's (unused when kSlices is 1)
        [Shape(1, 2, 4, SharesTuning = true)] int itemTiles,
        [Constant(1, 2, 4)] int rowTiles,
        [Constant(4, 8)] int warps)
        where TWeights : struct, ITensorCoreRows<TWeights>
        where TItems : struct, IItemGroups<TItems>
    {
        // Sized for the largest tiles (32 KB + 4 KB), so the kernel as written (tiles passed as arguments: the ILGPU
        // test backends) compiles too; a smaller variant uses the front.
        var staged = SharedMemory.Allocate<ushort>(64 * TensorCoreGemvTiles.KBlock * 2);     // [items][128 columns] hi/lo words, swizzled
        var nanFlags = SharedMemory.Allocate<uint>(8 * 32 * 4);                              // [warp][8·rowTiles rows][lane column]
        int thread = Group.IdxX;
        int lane = thread & 31;
        int warp = thread >> 5;
        int fragmentRow = lane >> 2;    // g: weight row g of each row tile; items g and g + 8 of each item tile
        int fragmentColumn = lane & 3;  // t: columns 16t … 16t + 15 of each 64-column half
        int warpRows = 8 * rowTiles;
        int groupItems = 16 * itemTiles;
        int slice = Grid.IdxY % kSlices;
        var range = items.Range(Grid.IdxY / kSlices, groupItems);
        if (range.First < 0)
            return; // a group past the last expert's slots (the grid is sized for the worst case): the whole group leaves
        var weight = weights.Matrix(range.Matrix, rows, cols);
        int itemCount = range.End - range.First; // at most groupItems
        int firstRow = Grid.IdxX * warpRows * warps + warp * warpRows; // this warp's rows
        var weightRows = TensorCoreGemvTiles.RowsOf(rows, firstRow + fragmentRow);
        int kBlocks = cols / TensorCoreGemvTiles.KBlock;
        int perSlice = (kBlocks + kSlices - 1) / kSlices;
        int firstBlock = slice * perSlice;
        int endBlock = Math.Min(kBlocks, firstBlock + perSlice);
        var source = input.Cast<ushort>();
        var totals = new GemvTileSums();
        var nan = new TileNaNFlags();
        for (int block = firstBlock; block < endBlock; block++)
        {
            // The weights first (their latency overlaps the staging), then the block's activations for every warp.
            var loads = TensorCoreGemvTiles.LoadBlock(weight, weightRows, cols, block * TensorCoreGemvTiles.KBlock + 16 * fragmentColumn, rowTiles);
            // Only the group's own items: the rows of the item tiles past them keep whatever shared memory held, which
            // reaches nothing but their own (never stored) outputs, since an mma output row reads its A row alone. A
            // batch of 1 or an expert's few slots then stage 1/16 … of the tile.
            for (int chunk = thread; chunk < itemCount * TensorCoreGemvTiles.ChunksPerItem; chunk += 32 * warps)
            {
                // Chunk c of item i: 16 bytes (4 columns' hi/lo words) from the item's row, to its swizzled place.
                int item = chunk / TensorCoreGemvTiles.ChunksPerItem;
                int column = chunk % TensorCoreGemvTiles.ChunksPerItem;
                TensorCore.CopyAsync16(staged, TensorCoreGemvTiles.StagedOffset(item, column), source,
                    2 * TensorCoreGemvTiles.StagingSource(items, range, cols, block, item, column));
            }
            TensorCore.CopyAsyncCommit();
            TensorCore.CopyAsyncWait(0);
            Group.Barrier();
            var sums = weight.UsesBlockScales() ? new GemvTileSums() : totals;
            for (int half = 0; half < 2; half++)
            {
                for (int rt = 0; rt < rowTiles; rt++)
                    nan = nan.With(rt, nan.At(rt) | weight.NaNFlagsOf(loads.At(rt, half)));
                var w0 = weight.Bf16Of(loads.At(0, half));
                var w1 = rowTiles > 1 ? weight.Bf16Of(loads.At(1, half)) : new Words8();
                var w2 = rowTiles > 2 ? weight.Bf16Of(loads.At(2, half)) : new Words8();
                var w3 = rowTiles > 2 ? weight.Bf16Of(loads.At(3, half)) : new Words8();
                for (int step = 0; step < 4; step++)
                {
                    for (int it = 0; it < itemTiles; it++)
                    {
                        var x = TensorCoreGemvTiles.StagedActivations(staged, 16 * it + fragmentRow, 16 * half + 4 * fragmentColumn + step);
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
                    float scale = weight.BlockScale(weightRows.Row(rt), cols, block);
                    for (int it = 0; it < itemTiles; it++)
                        totals = totals.With(it, rt, TensorCoreGemvTiles.AddScaled(totals.At(it, rt), sums.At(it, rt), scale));
                }
            }
            else
            {
                totals = sums;
            }
            Group.Barrier(); // every warp done with the staged block before the next one overwrites it
        }

        // A lane's accumulators hold rows 2t, 2t + 1 of each row tile; the NaN flags of a row were read by its 4 lanes g.
        for (int rt = 0; rt < rowTiles; rt++)
            nanFlags[((warp * warpRows) + 8 * rt + fragmentRow) * 4 + fragmentColumn] = nan.At(rt);
        Group.Barrier();
        long sliceOutput = slice * sliceStride;
        for (int rt = 0; rt < rowTiles; rt++)
        {
            int localRow = 8 * rt + 2 * fragmentColumn;
            bool nanFirst = TensorCoreGemvTiles.RowHasNaN(nanFlags, warp * warpRows + localRow);
            bool nanSecond = TensorCoreGemvTiles.RowHasNaN(nanFlags, warp * warpRows + localRow + 1);
            for (int it = 0; it < itemTiles; it++)
            {
                var sums = totals.At(it, rt);
                int item = 16 * it + fragmentRow;
                TensorCoreGemvTiles.StorePair(output, sliceOutput, range, item, rows, firstRow + localRow, nanFirst ? float.NaN : sums.C0, nanSecond ? float.NaN : sums.C1);
                TensorCoreGemvTiles.StorePair(output, sliceOutput, range, item + 8, rows, firstRow + localRow, nanFirst ? float.NaN : sums.C2, nanSecond ? float.NaN : sums.C3);
            }
        }
    }

    /// <summary>
    /// The k-slices for a dense <see cref="TensorCoreGemv{TWeights, TItems}"/> of <paramref name="rows"/> ×
    /// <paramref name="cols"/>: enough that the matrix's 128-row blocks times the slices make about 128 groups (a GPU's
    /// worth), at most 8 and never more than the k-blocks. A function of the shape alone, because the slices set the
    /// order of the additions: a sequence's sums must not depend on its batch or on the device's size.
    /// </summary>
    public static int TensorCoreGemvKSlices(int rows, int cols)
    {
        int rowBlocks = (rows + 127) / 128;
        int kBlocks = cols / TensorCoreGemvTiles.KBlock;
        return Math.Max(1, Math.Min(Math.Min(8, kBlocks), 128 / rowBlocks));
    }

    /// <summary>
    /// output [batch, rows] = the <paramref name="batch"/> rows of split activations · weightsᵀ, as a decode step runs it:
    /// item tiles from the batch (16 items each, up to 4 a group), k-slices from the shape
    /// (<see cref="TensorCoreGemvKSlices"/>), and with more than one slice their sums into <paramref name="slices"/>
    /// (at least kSlices · batch · rows floats; unused otherwise) and <see cref="SumKSlices"/> into the output.
    /// </summary>
    public static void LaunchTensorCoreGemvBatch<TWeights>(KernelDevice device, TWeights weights, int batch, ArrayView<uint> split,
        ArrayView<float> slices, ArrayView<float> output, int rows, int cols)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        int itemTiles = batch <= 16 ? 1 : batch <= 32 ? 2 : 4; // more than 64 take more groups
        int groups = (batch + 16 * itemTiles - 1) / (16 * itemTiles);
        int kSlices = TensorCoreGemvKSlices(rows, cols);
        if (kSlices == 1)
        {
            LaunchTensorCoreGemv(device, weights, new BatchItems(batch), split, output, rows, cols, groups, 1, 0, itemTiles);
            return;
        }
        int outputs = checked(batch * rows);
        LaunchTensorCoreGemv(device, weights, new BatchItems(batch), split, slices, rows, cols, groups, kSlices, outputs, itemTiles);
        LaunchSumKSlices(device, slices, output, outputs, kSlices);
    }

    /// <summary>
    /// output[i] = Σ_s partials[s · count + i], the slices added in order: the second step of a
    /// <see cref="TensorCoreGemv{TWeights, TItems}"/> launch with more than one k-slice.
    /// </summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void SumKSlices(ArrayView<float> partials, ArrayView<float> output, int count, int slices)
    {
        int i = Grid.GlobalIndex.X;
        if (i >= count)
            return;
        float sum = partials[i];
        for (int s = 1; s < slices; s++)
            sum += partials[(long)s * count + i];
        output[i] = sum;
    }
}
