using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// mma.sync m16n8k16 without tensor cores: each lane gathers the A row and B columns it needs from the lanes that
/// hold them (<c>Warp.Shuffle</c>) and does the 16-term dot products in fp32. Row g of A lives in lanes 4g..4g+3
/// (A0/A2 for row g, A1/A3 for row g+8); column n of B lives in lanes 4n..4n+3. Written without loops over
/// fragment registers so it also compiles to straight-line code.
/// </summary>
internal static class PortableMma
{
    public static MmaAccumulator MmaBf16(MmaBf16Fragments f)
    {
        int lane = Warp.LaneIdx;
        int g = lane >> 2;
        int t = lane & 3;
        float d0 = f.C0, d1 = f.C1, d2 = f.C2, d3 = f.C3;
        for (int source = 0; source < 4; source++)
        {
            // This lane's rows g and g+8, k = 2·source + {0,1} (word 0/1) and 8 + 2·source + {0,1} (word 2/3).
            int rowLane = 4 * g + source;
            uint rowLowK = Warp.Shuffle(f.A0, rowLane);
            uint rowHighK = Warp.Shuffle(f.A2, rowLane);
            uint row8LowK = Warp.Shuffle(f.A1, rowLane);
            uint row8HighK = Warp.Shuffle(f.A3, rowLane);

            // Columns 2t and 2t+1 of B at the same k values.
            uint colLowK = Warp.Shuffle(f.B0, 4 * (2 * t) + source);
            uint colHighK = Warp.Shuffle(f.B1, 4 * (2 * t) + source);
            uint col1LowK = Warp.Shuffle(f.B0, 4 * (2 * t + 1) + source);
            uint col1HighK = Warp.Shuffle(f.B1, 4 * (2 * t + 1) + source);

            d0 += PairDot(rowLowK, colLowK) + PairDot(rowHighK, colHighK);
            d1 += PairDot(rowLowK, col1LowK) + PairDot(rowHighK, col1HighK);
            d2 += PairDot(row8LowK, colLowK) + PairDot(row8HighK, colHighK);
            d3 += PairDot(row8LowK, col1LowK) + PairDot(row8HighK, col1HighK);
        }
        return new MmaAccumulator(d0, d1, d2, d3);
    }

    /// <summary>Dot product of two packed bf16 pairs.</summary>
    private static float PairDot(uint x, uint y)
        => Bf16Pair.Low(x) * Bf16Pair.Low(y) + Bf16Pair.High(x) * Bf16Pair.High(y);
}
