using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// mma.sync m16n8k16 without tensor cores: each lane gathers the A rows and B columns it needs from the lanes that
/// hold them and does the 16-term dot products in fp32. Row g of A lives in lanes 4g..4g+3 (A0/A2 for row g, A1/A3
/// for row g+8, k = 2s.. and 8+2s.. in lane 4g+s); column n of B lives in lanes 4n..4n+3 (B0: k = 2s.., B1: k = 8+2s..).
/// </summary>
internal static class PortableMma
{
    /// <summary>Gathers with <c>Warp.Shuffle</c> (32-lane warps).</summary>
    public static MmaAccumulator MmaBf16(MmaBf16Fragments f)
    {
        int lane = Warp.LaneIdx;
        int g = lane >> 2;
        int t = lane & 3;
        var d = f.Accumulator;
        for (int s = 0; s < 4; s++)
        {
            int rowLane = 4 * g + s;
            int column0Lane = 4 * (2 * t) + s;
            int column1Lane = 4 * (2 * t + 1) + s;
            d = MmaMath.Step(
                d,
                Warp.Shuffle(f.A0, rowLane), Warp.Shuffle(f.A2, rowLane), Warp.Shuffle(f.A1, rowLane), Warp.Shuffle(f.A3, rowLane),
                Warp.Shuffle(f.B0, column0Lane), Warp.Shuffle(f.B1, column0Lane),
                Warp.Shuffle(f.B0, column1Lane), Warp.Shuffle(f.B1, column1Lane));
        }
        return d;
    }
}

/// <summary>The arithmetic shared by the portable mma versions.</summary>
internal static class MmaMath
{
    /// <summary>Adds the products over k = 2s, 2s+1 (the "low" words) and 8+2s, 9+2s (the "high" words) to this lane's
    /// four outputs: rows g / g+8 times columns 2t / 2t+1.</summary>
    public static MmaAccumulator Step(
        MmaAccumulator d,
        uint rowLow, uint rowHigh, uint row8Low, uint row8High,
        uint column0Low, uint column0High, uint column1Low, uint column1High)
        => new(
            d.C0 + PairDot(rowLow, column0Low) + PairDot(rowHigh, column0High),
            d.C1 + PairDot(rowLow, column1Low) + PairDot(rowHigh, column1High),
            d.C2 + PairDot(row8Low, column0Low) + PairDot(row8High, column0High),
            d.C3 + PairDot(row8Low, column1Low) + PairDot(row8High, column1High));

    /// <summary>Dot product of two packed bf16 pairs.</summary>
    private static float PairDot(uint x, uint y)
        => Bf16Pair.Low(x) * Bf16Pair.Low(y) + Bf16Pair.High(x) * Bf16Pair.High(y);
}
