using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// mma.sync m16n8k16 for devices without 32-lane shuffles (OpenCL, narrow-warp CPU devices): lanes publish their A/B
/// words in shared memory and read the ones they need back. The buffer holds 4 warps at a time (3 KB), so larger
/// groups take several rounds; every thread of the group must call it (the collective rule guarantees it).
/// </summary>
internal static class SharedMemoryMma
{
    private const int WarpsPerRound = 4;

    public static MmaAccumulator MmaBf16(MmaBf16Fragments f)
    {
        var aWords = SharedMemory.Allocate<uint>(WarpsPerRound * 32 * 4); // [warp in round][lane][A0, A2, A1, A3]
        var bWords = SharedMemory.Allocate<uint>(WarpsPerRound * 32 * 2); // [warp in round][lane][B0, B1]
        int warp = Group.IdxX >> 5;
        int lane = Group.IdxX & 31;
        int g = lane >> 2;
        int t = lane & 3;
        int warps = (Group.DimX + 31) >> 5;
        var d = f.Accumulator;
        for (int first = 0; first < warps; first += WarpsPerRound)
        {
            bool inRound = warp >= first && warp < first + WarpsPerRound;
            int warpBase = (warp - first) * 32;
            if (inRound)
            {
                int slot = warpBase + lane;
                aWords[4 * slot] = f.A0;
                aWords[4 * slot + 1] = f.A2;
                aWords[4 * slot + 2] = f.A1;
                aWords[4 * slot + 3] = f.A3;
                bWords[2 * slot] = f.B0;
                bWords[2 * slot + 1] = f.B1;
            }
            Group.Barrier();
            if (inRound)
            {
                for (int s = 0; s < 4; s++)
                {
                    int row = warpBase + 4 * g + s;
                    int column0 = warpBase + 4 * (2 * t) + s;
                    int column1 = warpBase + 4 * (2 * t + 1) + s;
                    d = MmaMath.Step(
                        d,
                        aWords[4 * row], aWords[4 * row + 1], aWords[4 * row + 2], aWords[4 * row + 3],
                        bWords[2 * column0], bWords[2 * column0 + 1],
                        bWords[2 * column1], bWords[2 * column1 + 1]);
                }
            }
            Group.Barrier();
        }
        return d;
    }
}
