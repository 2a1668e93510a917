using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Dsl.Tests;

/// <summary>KsWarp/KsGroup on the ILGPU CPU accelerator, against float64 references, for every supported group size
/// and on both the 32-lane shuffle path and the narrow-warp shared-memory path.</summary>
public class ReductionTests
{
    private const int Groups = 3;

    /// <summary>Each thread writes what each collective returned to it; two passes through a uniform loop check that
    /// a call site can be reused (the trailing barrier).</summary>
    private static void CollectivesKernel(
        ArrayView<float> input,     // [groups · groupSize · 2]
        ArrayView<float> groupSum,  // [groups · groupSize · 2]
        ArrayView<float> groupMax,  // [groups · groupSize · 2]
        ArrayView<float> warpSum,   // [groups · groupSize · 2]
        ArrayView<float> warpMax)   // [groups · groupSize · 2]
    {
        for (int pass = 0; pass < 2; pass++)
        {
            int slot = (pass * Grid.DimX + Grid.IdxX) * Group.DimX + Group.IdxX;
            float value = input[slot];
            float s = KsGroup.Sum(value);
            float m = KsGroup.Max(value);
            float ws = KsWarp.Sum(value);
            float wm = KsWarp.Max(value);
            groupSum[slot] = s;
            groupMax[slot] = m;
            warpSum[slot] = ws;
            warpMax[slot] = wm;
        }
    }

    public static TheoryData<int, bool> Cases()
    {
        var cases = new TheoryData<int, bool>();
        foreach (int groupSize in new[] { 1, 32, 64, 256, 1024 })
            cases.Add(groupSize, false);
        foreach (int groupSize in new[] { 1, 64, 256 })
            cases.Add(groupSize, true);
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CollectivesMatchReference(int groupSize, bool narrowWarps)
    {
        using var cpu = narrowWarps ? IlgpuCpu.NarrowWarps() : IlgpuCpu.Nvidia32();
        int groups = groupSize >= 1024 ? 1 : Groups; // 1024 OS threads per group on the CPU accelerator: keep it short
        var random = new RandomData();
        float[] input = random.Floats(groups * groupSize * 2, 10f);
        using var inputBuffer = cpu.Upload(input);
        using var groupSum = cpu.Accelerator.Allocate1D<float>(input.Length);
        using var groupMax = cpu.Accelerator.Allocate1D<float>(input.Length);
        using var warpSum = cpu.Accelerator.Allocate1D<float>(input.Length);
        using var warpMax = cpu.Accelerator.Allocate1D<float>(input.Length);
        var kernel = cpu.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CollectivesKernel);
        kernel(new KernelConfig(groups, groupSize), inputBuffer.View, groupSum.View, groupMax.View, warpSum.View, warpMax.View);
        cpu.Accelerator.Synchronize();

        float[] actualGroupSum = groupSum.GetAsArray1D();
        float[] actualGroupMax = groupMax.GetAsArray1D();
        float[] actualWarpSum = warpSum.GetAsArray1D();
        float[] actualWarpMax = warpMax.GetAsArray1D();
        for (int slot = 0; slot < input.Length; slot++)
        {
            int groupStart = slot / groupSize * groupSize;
            int warpStart = slot - (slot - groupStart) % 32;
            int warpEnd = Math.Min(warpStart + 32, groupStart + groupSize);
            ReadOnlySpan<float> group = input.AsSpan(groupStart, groupSize);
            ReadOnlySpan<float> warp = input.AsSpan(warpStart, warpEnd - warpStart);
            string where = $"seed {random.Seed}, group size {groupSize}, slot {slot}";
            AssertClose(ReferenceSum(group), actualGroupSum[slot], groupSize, where + " group sum");
            Assert.True(ReferenceMax(group) == actualGroupMax[slot], where + " group max");
            AssertClose(ReferenceSum(warp), actualWarpSum[slot], warp.Length, where + " warp sum");
            Assert.True(ReferenceMax(warp) == actualWarpMax[slot], where + " warp max");
        }
    }

    [Fact]
    public void CpuCombinesMatchReference()
    {
        var random = new RandomData();
        float[] values = random.Floats(1024, 5f);
        for (int thread = 0; thread < values.Length; thread += 97)
        {
            AssertClose(ReferenceSum(values), KsGroup.SumCombine(values, thread), values.Length, $"seed {random.Seed}");
            Assert.Equal(ReferenceMax(values), KsGroup.MaxCombine(values, thread));
        }
        AssertClose(ReferenceSum(values.AsSpan(0, 32)), KsWarp.SumCombine(values.AsSpan(0, 32), 5), 32, $"seed {random.Seed}");
        Assert.Equal(ReferenceMax(values.AsSpan(32, 32)), KsWarp.MaxCombine(values.AsSpan(32, 32), 31));
    }

    private static double ReferenceSum(ReadOnlySpan<float> values)
    {
        double total = 0;
        foreach (float v in values)
            total += v;
        return total;
    }

    private static float ReferenceMax(ReadOnlySpan<float> values)
    {
        float best = float.NegativeInfinity;
        foreach (float v in values)
            best = Math.Max(best, v);
        return best;
    }

    /// <summary>fp32 summation error bound: a few ulps of the magnitude times log2(count).</summary>
    private static void AssertClose(double expected, float actual, int count, string where)
    {
        double tolerance = 1e-6 * 10 * Math.Sqrt(count) * (1 + Math.Log2(count + 1)) * 10;
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{where}: expected {expected}, got {actual}");
    }
}
