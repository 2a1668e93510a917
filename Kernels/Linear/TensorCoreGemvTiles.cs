using System.Runtime.CompilerServices;
using ILGPU.Runtime;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// The pieces of <see cref="GemvKernels.TensorCoreGemv{TWeights}"/> that are not its loop: which rows and items a lane
/// reads, the k-block's weight loads, the hi/lo split of the activations, and the group's final sum. The tile indices
/// passed in are constants in the folded kernel variants, so the selections below fold away.
/// </summary>
public static class TensorCoreGemvTiles
{
    /// <summary>Columns per k-block: the unit a warp takes, the FP8 scale block, and the multiple of columns required.</summary>
    public const int KBlock = 128;

    /// <summary>The lane's weight row in each of the 4 row tiles (8 rows apart), clamped to the last row.</summary>
    public static TileRows RowsOf(int rows, int laneRow) =>
        new(Math.Min(laneRow, rows - 1), Math.Min(laneRow + 8, rows - 1), Math.Min(laneRow + 16, rows - 1), Math.Min(laneRow + 24, rows - 1));

    /// <summary>Where the lane's two items (g and g + 8) of each of the 4 item tiles start in x; past the group's items,
    /// its last item's (read, never stored).</summary>
    public static TileItems ItemsOf<TItems>(TItems items, ItemRange range, int cols, int laneItem) where TItems : struct, IItemGroups<TItems> => new(
        ItemStart(items, range, laneItem, cols), ItemStart(items, range, laneItem + 8, cols),
        ItemStart(items, range, laneItem + 16, cols), ItemStart(items, range, laneItem + 24, cols),
        ItemStart(items, range, laneItem + 32, cols), ItemStart(items, range, laneItem + 40, cols),
        ItemStart(items, range, laneItem + 48, cols), ItemStart(items, range, laneItem + 56, cols));

    private static long ItemStart<TItems>(TItems items, ItemRange range, int item, int cols) where TItems : struct, IItemGroups<TItems> =>
        items.InputStart(Math.Min(item, range.End - 1), cols);

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

    /// <summary>
    /// The A fragments of item tile <paramref name="itemTile"/> at <paramref name="column"/> (4 columns of items g and
    /// g + 8) from the split activations (<see cref="GemvKernels.SplitToBf16Pairs"/>: one 16-byte load per item holds
    /// its hi and lo words); zeros for a warp with no k-block this round.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ActivationSplit SplitActivations(ArrayView<uint> split, TileItems items, int itemTile, long column, bool active)
    {
        if (!active)
            return new ActivationSplit();
        var runs = split.SubView(0, split.Length / 4 * 4).AsAligned(16).Cast<PackedWords>(); // [.. / 4] of [hi, hi, lo, lo]
        PackedWords low = runs[(items.Low(itemTile) + column) / 4];   // item g
        PackedWords high = runs[(items.High(itemTile) + column) / 4]; // item g + 8
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

    /// <summary>A lane's accumulator into the warp's [item][row] partials: C0, C1 at <paramref name="index"/> (item g,
    /// rows 2t, 2t + 1), C2, C3 eight items further (<paramref name="eightItems"/> floats on).</summary>
    public static void StoreTile(ArrayView<float> partials, MmaAccumulator sums, int index, int eightItems)
    {
        partials[index] = sums.C0;
        partials[index + 1] = sums.C1;
        partials[index + eightItems] = sums.C2;
        partials[index + eightItems + 1] = sums.C3;
    }

    /// <summary>The four warps' sums of one (item, row), added in warp order; NaN where a warp saw a NaN code in the row.</summary>
    public static float RowTotal(ArrayView<float> partials, ArrayView<uint> nanFlags, int item, int localRow, int groupItems, int groupRows)
    {
        float total = 0f;
        uint nan = 0u;
        for (int warp = 0; warp < GemvKernels.WarpsPerGroup; warp++)
        {
            total += partials[(warp * groupItems + item) * groupRows + localRow];
            int flags = (warp * groupRows + localRow) * 4;
            nan |= nanFlags[flags] | nanFlags[flags + 1] | nanFlags[flags + 2] | nanFlags[flags + 3];
        }
        return nan != 0u ? float.NaN : total;
    }
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

/// <summary>Where a lane's items g (Low) and g + 8 (High) of each of 4 item tiles start in the activations.</summary>
public readonly struct TileItems(long low0, long high0, long low1, long high1, long low2, long high2, long low3, long high3)
{
    public readonly long Low0 = low0;
    public readonly long High0 = high0;
    public readonly long Low1 = low1;
    public readonly long High1 = high1;
    public readonly long Low2 = low2;
    public readonly long High2 = high2;
    public readonly long Low3 = low3;
    public readonly long High3 = high3;

    public long Low(int tile) => tile == 0 ? Low0 : tile == 1 ? Low1 : tile == 2 ? Low2 : Low3;

    public long High(int tile) => tile == 0 ? High0 : tile == 1 ? High1 : tile == 2 ? High2 : High3;
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
