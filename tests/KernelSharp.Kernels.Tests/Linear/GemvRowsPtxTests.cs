using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// The store at the end of <see cref="GemvKernels.GemvRows{TWeights}"/>, read from its PTX (sm_80, no GPU needed): its
/// indices are shifts and masks, no signed remainder or division. ptxas expands a <c>rem.s32</c> into a reciprocal-based
/// division; in the store, inside the warp-sum loop, that made every warpsPerRow = 4 variant 0.2-8% slower than the
/// kernel before the batch items on an H100 (docs/perf/kernel-rows-before-after.md, third session).
/// </summary>
public sealed class GemvRowsPtxTests
{
    public static TheoryData<string, Type> Variants()
    {
        var data = new TheoryData<string, Type>();
        foreach (int rowsPerWarp in new[] { 1, 2, 4 })
            foreach (int chunks in new[] { 2, 4 })
                foreach (int warpsPerRow in new[] { 1, 4 })
                    foreach (int items in new[] { 1, 4 })
                        foreach (var format in new[] { typeof(Bf16Rows), typeof(Fp8BlockRows) })
                            data.Add($"GemvRows__rowsPerWarp{rowsPerWarp}_chunksInFlight{chunks}_warpsPerRow{warpsPerRow}_itemsPerWarp{items}", format);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Store_after_the_barrier_has_no_remainder_or_division(string variant, Type format)
    {
        var method = typeof(GemvKernels).GetMethod(variant, BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(method);
        string ptx = PtxCompiler.Compile(method!.MakeGenericMethod(format));
        int barrier = ptx.IndexOf("bar.sync", StringComparison.Ordinal);
        Assert.True(barrier > 0, "no barrier in the PTX");
        // Everything written after the barrier: the store, and the warp reductions ILGPU places behind it.
        string[] lines = ptx[barrier..].Split('\n');
        Assert.DoesNotContain(lines, line => line.TrimStart().StartsWith("rem.", StringComparison.Ordinal)
            || line.TrimStart().StartsWith("div.", StringComparison.Ordinal));
    }
}
