using KernelSharp.Generators.Tests.Infrastructure;
using Snapshooter.Xunit;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// The generated C# of small kernels, pinned by snapshots (__snapshots__/*.snap). The snapshots double as the
/// documentation of what each kind of variant looks like. Every generated file must also compile cleanly.
/// </summary>
public sealed class OutputSnapshotTests
{
    private static string Generate(string members, string kernel, params InMemoryAdditionalText[] configs)
    {
        var run = GeneratorHarness.Run(KernelSources.InClass(members), configs);
        Assert.Empty(run.CompileProblems);
        return run.Generated($".{kernel}.g.cs");
    }

    [Fact]
    public void ElementwiseKernelWithTwoBlockSizes() =>
        Snapshot.Match(Generate(KernelSources.Elementwise, "Scale"), "Elementwise_Scale");

    [Fact]
    public void ShapeThatSharesTuningIsLeftOutOfTheAutotunerKey()
    {
        // A tile the caller picks: the tuned block size must be the same for both tiles of one n, so an item's result
        // does not depend on the tile it was computed in.
        const string members = """
            [Kernel(Grid = "(n + blockSize - 1) / blockSize", GridY = "(items + tile - 1) / tile", GroupSize = "blockSize")]
            public static void TiledScale(ArrayView<float> x, ArrayView<float> y, [Shape] int n, int items,
                [Shape(1, 4, SharesTuning = true)] int tile, [Constant(64, 128)] int blockSize)
            {
                int i = Grid.IdxX * blockSize + Group.IdxX;
                for (int k = 0; k < tile; k++)
                {
                    int item = Grid.IdxY * tile + k;
                    if (i < n && item < items)
                        y[(long)item * n + i] = 2f * x[(long)item * n + i];
                }
            }
            """;
        string source = Generate(members, "TiledScale");
        Assert.Contains("string ks_shapeKey = \"n=\" + n.ToString(global::System.Globalization.CultureInfo.InvariantCulture);", source);
        Assert.DoesNotContain("\"tile=\"", source);
        Assert.Contains("if (tile == 4)", source); // still folded per listed value
    }

    [Fact]
    public void FormatGenericKernelKeepsItsTypeParameterEverywhere()
    {
        string source = Generate(KernelSources.FormatGeneric, "Gather");
        Assert.Contains("public static void LaunchGather<TSource>(global::KernelSharp.Dsl.Launch.KernelDevice device, TSource source, ", source);
        Assert.Contains("where TSource : struct, global::Samples.Kernels.SampleKernels.IRowSource", source);
        Assert.Contains("\"Samples.Kernels.SampleKernels.Gather__blockSize64\" + \"<\" + typeof(TSource).FullName + \">\"", source);
        Snapshot.Match(source, "FormatGeneric_Gather");
    }

    [Fact]
    public void KernelWithTwoTypeParametersKeepsBothEverywhere()
    {
        string source = Generate(KernelSources.TwoAxes, "GatherBy");
        const string constraints = "where TSource : struct, global::Samples.Kernels.SampleKernels.IRowSource where TIndex : struct, global::Samples.Kernels.SampleKernels.IIndexSource";
        Assert.Contains("public static void GatherBy__generic<TSource, TIndex>(TSource source, TIndex indices, ", source);
        Assert.Contains("public static void GatherByCpu<TSource, TIndex>(TSource source, TIndex indices, ", source);
        Assert.Contains("public static void LaunchGatherBy<TSource, TIndex>(global::KernelSharp.Dsl.Launch.KernelDevice device, TSource source, TIndex indices, ", source);
        Assert.Contains(constraints, source);
        // Each pair of type arguments is its own compiled kernel.
        Assert.Contains("\"Samples.Kernels.SampleKernels.GatherBy__generic\" + \"<\" + typeof(TSource).FullName + \",\" + typeof(TIndex).FullName + \">\"", source);
        Assert.Contains("int ks_gridX = checked((int)(n * indices.Slices));", source);
    }

    [Fact]
    public void FormatMemberWithCpuBodyIsCalledByItsCpuTwinOnTheCpuPathOnly()
    {
        string source = Generate(KernelSources.FormatWithCpuBody, "RowSums");
        string cpuPath = source[source.IndexOf("private static void RowSumsCpuGroup<TSource>", StringComparison.Ordinal)..];
        cpuPath = cpuPath[..cpuPath.IndexOf("\n        }", StringComparison.Ordinal)];
        Assert.Contains("source.SumCpu((long)ks_groupIdxX * cols, cols)", cpuPath);
        // A CpuBody that names no member of the interface leaves the call as written (its GPU body runs on the host).
        Assert.Contains("source.First((long)ks_groupIdxX * cols)", cpuPath);
        // The GPU variants keep the member the kernel calls.
        Assert.Contains("source.Sum((long)Grid.IdxX * cols, cols)", source);
    }

    [Fact]
    public void GroupReductionWithListedShape() =>
        Snapshot.Match(Generate(KernelSources.RmsNorm, "RmsNorm"), "GroupReduction_RmsNorm");

    [Fact]
    public void SharedMemoryTreeWithUnrolledBarrierLoop() =>
        Snapshot.Match(Generate(KernelSources.SharedTreeSum, "RowSum"), "SharedTree_RowSum");

    [Fact]
    public void RegisterTileLoopUnrolledPerConstant() =>
        Snapshot.Match(Generate(KernelSources.RegisterTile, "TileAxpy"), "RegisterTile_TileAxpy");

    [Fact]
    public void ShapesFromConfigAdditionalFiles() =>
        Snapshot.Match(Generate(KernelSources.ConfigShaped, "RowScale",
            new InMemoryAdditionalText("/models/a/config.json", "{ \"hidden_size\": 2048, \"vocab_size\": 129280 }"),
            new InMemoryAdditionalText("/models/b.config.json", "{ \"text_config\": { \"hidden_size\": 7168 }, \"rms_norm_eps\": 1e-6 }"),
            new InMemoryAdditionalText("/models/notes.json", "{ \"hidden_size\": 5 }")), "ConfigShapes_RowScale");

    [Fact]
    public void WarpCollectiveWithEarlyReturn() =>
        Snapshot.Match(Generate(KernelSources.WarpMax, "WarpMax"), "WarpCollective_WarpMax");

    [Fact]
    public void KernelWithoutCpuPathFallsBackToIlgpu() =>
        Snapshot.Match(Generate(KernelSources.NestedCollective, "Nested"), "NoCpuPath_Nested");

    [Fact]
    public void HostGroupFormReplacesTheEmulatedThreadsOnTheCpuPath()
    {
        // A group-sum kernel whose host form does the row in one call: the CPU path calls RowSumHost per group (kernel
        // parameters, constants as values, then the group's indices); the GPU variants keep the body as written.
        const string members = """
            [Kernel(Grid = "rows", GroupSize = "blockSize", HostGroup = nameof(RowSumHost))]
            public static void RowSum(ArrayView<float> x, ArrayView<float> sums, int rows, int n, [Constant(32, 64)] int blockSize)
            {
                float partial = 0f;
                for (int i = Group.IdxX; i < n; i += blockSize)
                    partial += x[(long)Grid.IdxX * n + i];
                float total = KsGroup.Sum(partial);
                if (Group.IdxX == 0)
                    sums[Grid.IdxX] = total;
            }

            private static void RowSumHost(ArrayView<float> x, ArrayView<float> sums, int rows, int n, int blockSize, int row, int unusedY)
            {
                float total = 0f;
                for (int i = 0; i < n; i++)
                    total += x[(long)row * n + i];
                sums[row] = total;
            }
            """;
        string generated = Generate(members, "RowSum");
        Assert.Contains("RowSumHost(x, sums, rows, n, blockSize, ks_groupIdxX, ks_groupIdxY)", generated);
        Assert.DoesNotContain("RowSumCpuGroup", generated);
        Snapshot.Match(generated, "HostGroup_RowSum");
    }

    [Fact]
    public void HostGroupSpanCallsTheHostFormOncePerBlockOfGroups()
    {
        // 8 rows × 2 items per call: the CPU path walks ceil(rows / 8) × ceil(batch / 2) blocks and passes each block's
        // first row and item.
        const string members = """
            [Kernel(Grid = "rows", GridY = "batch", GroupSize = "32", HostGroup = nameof(ScaleHost), HostGroupSpanX = 8, HostGroupSpanY = 2)]
            public static void Scale(ArrayView<float> x, int rows, int batch)
            {
                if (Group.IdxX == 0)
                    x[(long)Grid.IdxY * rows + Grid.IdxX] *= 2f;
            }

            private static void ScaleHost(ArrayView<float> x, int rows, int batch, int firstRow, int firstItem)
            {
                for (int item = firstItem; item < System.Math.Min(firstItem + 2, batch); item++)
                    for (int row = firstRow; row < System.Math.Min(firstRow + 8, rows); row++)
                        x[(long)item * rows + row] *= 2f;
            }
            """;
        string generated = Generate(members, "Scale");
        Assert.Contains("CpuGrid.For((int)(((long)ks_gridDimX + 7) / 8), (int)(((long)ks_gridDimY + 1) / 2), (ks_blockX, ks_blockY) =>", generated);
        Assert.Contains("ScaleHost(x, rows, batch, ks_blockX * 8, ks_blockY * 2)", generated);
        Snapshot.Match(generated, "HostGroupSpan_Scale");
    }

    [Fact]
    public void KernelWithoutConstantsHasOneGenericVariant() =>
        Snapshot.Match(Generate(KernelSources.Plain, "Fill"), "Generic_Fill");

    [Fact]
    public void KernelInNestedTypeWithAliasesAndGlobalUsingsCompiles()
    {
        var run = GeneratorHarness.Run("""
            global using System;
            using ILGPU;
            using Views = ILGPU.ArrayView<float>;
            using KernelSharp.Dsl;

            namespace Deep.Space;

            public static partial class Outer
            {
                public static partial class Inner
                {
                    private const int Width = 4;

                    [Kernel(Grid = "n", GroupSize = "32")]
                    public static void Copy(Views source, Views target, int n)
                    {
                        for (int k = 0; k < Width; k++)
                            target[(long)Grid.IdxX * 32 * Width + Group.IdxX * Width + k] = source[(long)Grid.IdxX * 32 * Width + Group.IdxX * Width + k];
                    }
                }
            }
            """);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string source = run.Generated(".Copy.g.cs");
        Assert.Contains("static partial class Outer", source);
        Assert.Contains("static partial class Inner", source);
        Assert.Contains("using Views = ILGPU.ArrayView<float>;", source);
        Assert.Contains("const int k = 3;", source); // the class constant Width folded and the loop unrolled
        Assert.DoesNotContain("global using", source);
    }

    [Fact]
    public void UniformLocalsAndThreadIndexAliasesNeedNoPerThreadArrays()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(Grid = "rows", GroupSize = "64")]
                public static void Shift(ArrayView<float> x, int rows)
                {
                    int thread = Group.IdxX;
                    long rowStart = (long)Grid.IdxX * 64;
                    float mine = x[rowStart + thread];
                    KsGroup.Barrier();
                    x[rowStart + (thread + 1) % 64] = mine;
                }
            """));
        Assert.Empty(run.CompileProblems);
        string source = run.Generated(".Shift.g.cs");
        Assert.Contains("long rowStart = (long)ks_groupIdxX * 64;", source); // once per group
        Assert.Contains("x[ks_ShiftIndex(x, rowStart + (ks_t + 1) % 64, \"x\")] = ks_mine_2[ks_t];", source); // alias replaced, 'mine' per thread
        Assert.DoesNotContain("ks_thread_", source);
    }

    [Fact]
    public void OutputIsDeterministic()
    {
        string first = Generate(KernelSources.SharedTreeSum, "RowSum");
        string second = Generate(KernelSources.SharedTreeSum, "RowSum");
        Assert.Equal(first, second);
        Assert.DoesNotContain("\r", first);
    }
}
