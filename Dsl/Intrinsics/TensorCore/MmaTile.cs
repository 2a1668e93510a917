namespace KernelSharp.Dsl;

/// <summary>
/// Host-side m16n8k16 math on the fragments of a whole warp: unpack A and B from the 32 lanes' words (layout on
/// <see cref="MmaBf16Fragments"/>) and compute one lane's four outputs. Used by the generated CPU path and by tests.
/// </summary>
public static class MmaTile
{
    public const int M = 16;
    public const int N = 8;
    public const int K = 16;

    /// <summary>Lane <paramref name="lane"/>'s share of A·B + C, summed in k order in fp32.</summary>
    public static MmaAccumulator LaneResult(ReadOnlySpan<MmaBf16Fragments> perLane, int lane)
    {
        if (perLane.Length != 32)
            throw new ArgumentException($"mma.sync needs the operands of all 32 lanes, got {perLane.Length}", nameof(perLane));
        int g = lane / 4;
        int t = lane % 4;
        MmaBf16Fragments own = perLane[lane];
        return new MmaAccumulator(
            own.C0 + RowTimesColumn(perLane, g, 2 * t),
            own.C1 + RowTimesColumn(perLane, g, 2 * t + 1),
            own.C2 + RowTimesColumn(perLane, g + 8, 2 * t),
            own.C3 + RowTimesColumn(perLane, g + 8, 2 * t + 1));
    }

    /// <summary>A[row][k] from the warp's fragments.</summary>
    public static float A(ReadOnlySpan<MmaBf16Fragments> perLane, int row, int k)
    {
        int lane = (row % 8) * 4 + (k % 8) / 2;
        MmaBf16Fragments f = perLane[lane];
        uint word = (row < 8, k < 8) switch
        {
            (true, true) => f.A0,
            (false, true) => f.A1,
            (true, false) => f.A2,
            _ => f.A3,
        };
        return Half(word, k % 2);
    }

    /// <summary>B[k][column] from the warp's fragments.</summary>
    public static float B(ReadOnlySpan<MmaBf16Fragments> perLane, int k, int column)
    {
        MmaBf16Fragments f = perLane[column * 4 + (k % 8) / 2];
        return Half(k < 8 ? f.B0 : f.B1, k % 2);
    }

    /// <summary>Packs two bf16 values into a fragment word, the first in the low half.</summary>
    public static uint Pack(ushort low, ushort high) => low | ((uint)high << 16);

    private static float RowTimesColumn(ReadOnlySpan<MmaBf16Fragments> perLane, int row, int column)
    {
        float total = 0f;
        for (int k = 0; k < K; k++)
            total += A(perLane, row, k) * B(perLane, k, column);
        return total;
    }

    private static float Half(uint word, int which) => Bf16.ToFloat((ushort)(which == 0 ? word : word >> 16));
}
