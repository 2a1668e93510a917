using System.Runtime.CompilerServices;
using ILGPU.Runtime;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// The pieces of <see cref="GemvKernels.TensorCoreGemv{TWeights, TItems}"/> that are not its loop: which rows a lane
/// reads, the k-block's weight loads, the staging of the split activations and their fragments, and the stores. The tile indices
/// passed in are constants in the folded kernel variants, so the selections below fold away.
/// </summary>
public static class TensorCoreGemvTiles
{
    /// <summary>Columns per k-block: the unit a warp takes, the FP8 scale block, and the multiple of columns required.</summary>
    public const int KBlock = 128;

    /// <summary>The lane's weight row in each of the 4 row tiles (8 rows apart), clamped to the last row.</summary>
    public static TileRows RowsOf(int rows, int laneRow) =>
        new(Math.Min(laneRow, rows - 1), Math.Min(laneRow + 8, rows - 1), Math.Min(laneRow + 16, rows - 1), Math.Min(laneRow + 24, rows - 1));

    /// <summary>The lane's 16 values at <paramref name="column"/> and at column + 64 (the k-block's two halves) of each
    /// of the first <paramref name="rowTiles"/> row tiles: every load of the k-block issued before any is used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockLoads LoadBlock<TWeights>(TWeights weight, TileRows rows, int cols, int column, int rowTiles)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        var loads = new BlockLoads();
        loads.Row0Half0 = weight.LoadSixteen(rows.Row0, cols, column);
        loads.Row0Half1 = weight.LoadSixteen(rows.Row0, cols, column + 64);
        if (rowTiles > 1)
        {
            loads.Row1Half0 = weight.LoadSixteen(rows.Row1, cols, column);
            loads.Row1Half1 = weight.LoadSixteen(rows.Row1, cols, column + 64);
        }
        if (rowTiles > 2)
        {
            loads.Row2Half0 = weight.LoadSixteen(rows.Row2, cols, column);
            loads.Row2Half1 = weight.LoadSixteen(rows.Row2, cols, column + 64);
            loads.Row3Half0 = weight.LoadSixteen(rows.Row3, cols, column);
            loads.Row3Half1 = weight.LoadSixteen(rows.Row3, cols, column + 64);
        }
        return loads;
    }

    /// <summary>16-byte chunks (4 columns' hi/lo words) per item in a staged k-block.</summary>
    public const int ChunksPerItem = KBlock / 4;

    /// <summary>
    /// Where chunk <paramref name="column"/> (columns 4·column … + 3) of k-block <paramref name="block"/> of the group's
    /// item <paramref name="item"/> (one of the group's own) starts in the split activations, in uints.
    /// </summary>
    public static long StagingSource<TItems>(TItems items, ItemRange range, int cols, int block, int item, int column)
        where TItems : struct, IItemGroups<TItems>
        => items.InputStart(range.First + item, cols) + (long)block * KBlock + 4 * column;

    /// <summary>Where that chunk goes in the staged block ([items][32 chunks], <see cref="Swizzle"/>d), in ushorts.</summary>
    public static int StagedOffset(int item, int column) => 8 * (item * ChunksPerItem + Swizzle(column, item));

    /// <summary>
    /// The A fragments of k-step chunk <paramref name="chunk"/> (columns 4·chunk … + 3 of the block) for items
    /// <paramref name="item"/> (g) and item + 8 from the staged block: one 16-byte shared load per item holds its hi and
    /// lo words.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ActivationSplit StagedActivations(ArrayView<ushort> staged, int item, int chunk)
    {
        PackedWords low = staged.SubView(StagedOffset(item, chunk), 8).AsAligned(16).Cast<PackedWords>()[0];      // item g
        PackedWords high = staged.SubView(StagedOffset(item + 8, chunk), 8).AsAligned(16).Cast<PackedWords>()[0]; // item g + 8
        var words = new ActivationSplit();
        words.Hi0 = low.A;  // A0: row g, k 2t, 2t + 1
        words.Hi1 = high.A; // A1: row g + 8
        words.Hi2 = low.B;  // A2: row g, k 2t + 8, 2t + 9
        words.Hi3 = high.B; // A3: row g + 8
        words.Lo0 = low.C;
        words.Lo1 = high.C;
        words.Lo2 = low.D;
        words.Lo3 = high.D;
        return words;
    }

    /// <summary>
    /// Where chunk <paramref name="chunk"/> of item <paramref name="item"/> lies in the item's staged row. A k-step's
    /// 16-byte reads by 8 lanes (4 chunks 4 apart for each of 2 items, 512 bytes apart) would fall on 2 bank groups of
    /// 8; flipping the chunk's two low bits by bit 3 of the chunk and the item's parity spreads them over all 8.
    /// </summary>
    public static int Swizzle(int chunk, int item) => chunk ^ (((chunk >> 3) & 1) | ((item & 1) << 1));

    /// <summary>Whether any of the 4 lanes that read row <paramref name="row"/> of the warp block saw a NaN code.</summary>
    public static bool RowHasNaN(ArrayView<uint> nanFlags, int row) =>
        (nanFlags[4 * row] | nanFlags[4 * row + 1] | nanFlags[4 * row + 2] | nanFlags[4 * row + 3]) != 0u;

    /// <summary>Stores a lane's two sums of item <paramref name="item"/> of the group (rows <paramref name="row"/> and
    /// row + 1) into its slice of the output, where the item and the rows exist.</summary>
    public static void StorePair(ArrayView<float> output, long sliceOffset, ItemRange range, int item, int rows, int row, float first, float second)
    {
        if (range.First + item >= range.End)
            return;
        long at = sliceOffset + (long)(range.First + item) * rows + row;
        if (row < rows)
            output[at] = first;
        if (row + 1 < rows)
            output[at + 1] = second;
    }

    /// <summary>Two values as a word of their bf16 roundings and a word of the bf16 roundings of what those missed.</summary>
    public static (uint Hi, uint Lo) SplitPair(float first, float second)
    {
        ushort firstHi = Bf16.FromFloat(first);
        ushort secondHi = Bf16.FromFloat(second);
        ushort firstLo = Bf16.FromFloat(first - Bf16.ToFloat(firstHi));
        ushort secondLo = Bf16.FromFloat(second - Bf16.ToFloat(secondHi));
        return (firstHi | ((uint)secondHi << 16), firstLo | ((uint)secondLo << 16));
    }

    /// <summary>total + scale · blockSums, per accumulator value.</summary>
    public static MmaAccumulator AddScaled(MmaAccumulator total, MmaAccumulator blockSums, float scale) => new(
        total.C0 + scale * blockSums.C0, total.C1 + scale * blockSums.C1, total.C2 + scale * blockSums.C2, total.C3 + scale * blockSums.C3);

}

/// <summary>A lane's weight row in each of the kernel's 4 row tiles.</summary>
public readonly struct TileRows(int row0, int row1, int row2, int row3)
{
    public readonly int Row0 = row0;
    public readonly int Row1 = row1;
    public readonly int Row2 = row2;
    public readonly int Row3 = row3;

    public int Row(int tile) => tile == 0 ? Row0 : tile == 1 ? Row1 : tile == 2 ? Row2 : Row3;
}

/// <summary>A lane's stored weight values of one k-block: two 64-column halves of each of up to 4 row tiles.</summary>
public struct BlockLoads
{
    public Words8 Row0Half0;
    public Words8 Row0Half1;
    public Words8 Row1Half0;
    public Words8 Row1Half1;
    public Words8 Row2Half0;
    public Words8 Row2Half1;
    public Words8 Row3Half0;
    public Words8 Row3Half1;

    public readonly Words8 At(int tile, int half) => tile == 0 ? (half == 0 ? Row0Half0 : Row0Half1)
        : tile == 1 ? (half == 0 ? Row1Half0 : Row1Half1)
        : tile == 2 ? (half == 0 ? Row2Half0 : Row2Half1)
        : half == 0 ? Row3Half0 : Row3Half1;
}

/// <summary>One k-step's A fragment words of an item tile, as bf16 hi parts and lo parts (<see cref="MmaBf16Fragments"/>' A0..A3).</summary>
public struct ActivationSplit
{
    public uint Hi0;
    public uint Hi1;
    public uint Hi2;
    public uint Hi3;
    public uint Lo0;
    public uint Lo1;
    public uint Lo2;
    public uint Lo3;
}

/// <summary>Per row tile, the NaN flags of the values a lane read (<see cref="ITensorCoreRows{TSelf}.NaNFlagsOf"/>).</summary>
public struct TileNaNFlags
{
    public uint Tile0;
    public uint Tile1;
    public uint Tile2;
    public uint Tile3;

    public readonly uint At(int tile) => tile == 0 ? Tile0 : tile == 1 ? Tile1 : tile == 2 ? Tile2 : Tile3;

    public readonly TileNaNFlags With(int tile, uint flags)
    {
        var copy = this;
        if (tile == 0)
            copy.Tile0 = flags;
        else if (tile == 1)
            copy.Tile1 = flags;
        else if (tile == 2)
            copy.Tile2 = flags;
        else
            copy.Tile3 = flags;
        return copy;
    }
}

/// <summary>A lane's 16 accumulators: [item tile 0..3][row tile 0..3], sixteen registers each of four, no local array.</summary>
public struct GemvTileSums
{
    public MmaAccumulator T00, T01, T02, T03;
    public MmaAccumulator T10, T11, T12, T13;
    public MmaAccumulator T20, T21, T22, T23;
    public MmaAccumulator T30, T31, T32, T33;

    public readonly MmaAccumulator At(int itemTile, int rowTile) => (itemTile * 4 + rowTile) switch
    {
        0 => T00, 1 => T01, 2 => T02, 3 => T03,
        4 => T10, 5 => T11, 6 => T12, 7 => T13,
        8 => T20, 9 => T21, 10 => T22, 11 => T23,
        12 => T30, 13 => T31, 14 => T32, _ => T33,
    };

    public readonly GemvTileSums With(int itemTile, int rowTile, MmaAccumulator value)
    {
        var copy = this;
        switch (itemTile * 4 + rowTile)
        {
            case 0: copy.T00 = value; break;
            case 1: copy.T01 = value; break;
            case 2: copy.T02 = value; break;
            case 3: copy.T03 = value; break;
            case 4: copy.T10 = value; break;
            case 5: copy.T11 = value; break;
            case 6: copy.T12 = value; break;
            case 7: copy.T13 = value; break;
            case 8: copy.T20 = value; break;
            case 9: copy.T21 = value; break;
            case 10: copy.T22 = value; break;
            case 11: copy.T23 = value; break;
            case 12: copy.T30 = value; break;
            case 13: copy.T31 = value; break;
            case 14: copy.T32 = value; break;
            default: copy.T33 = value; break;
        }
        return copy;
    }
}
