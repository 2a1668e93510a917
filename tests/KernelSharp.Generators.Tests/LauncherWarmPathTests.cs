using KernelSharp.Generators.Tests.Infrastructure;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// What a generated launcher does on every launch after the first: no strings, no closures, no autotuner for a kernel
/// with one candidate; the string-keyed path only where the tuning key does not fit a <c>TuningShape</c>.
/// </summary>
public sealed class LauncherWarmPathTests
{
    [Fact]
    public void ATunedLaunchBuildsNoStringsOrClosuresBeforeItsChoiceIsKnown()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(GroupSize = "blockSize")]
                public static void K(ArrayView<float> x, [Shape] int rows, [Shape] int cols, [Constant(32, 64)] int blockSize)
                {
                    int i = Grid.GlobalIndex.X;
                    if (i < rows * cols)
                        x[i] = 2f * x[i];
                }
            """));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string launch = Method(run.Generated(".K.g.cs"), "public static void LaunchK(");
        Assert.Contains("KernelAutotuner.TryRecall(device, ks_KKeys.Gpu, new global::KernelSharp.Dsl.Launch.TuningShape(rows, cols), out ks_choice)", launch);
        Assert.DoesNotContain("ToString(", launch);
        Assert.DoesNotContain("=>", launch);
        Assert.DoesNotContain("\" + ", launch);
        string tune = Method(run.Generated(".K.g.cs"), "private static int ks_TuneK(");
        Assert.Contains("\"rows=\" + rows.ToString(", tune);
        Assert.Contains("ks_candidate =>", tune);
    }

    [Fact]
    public void AKernelWithOneCandidateAsksNoAutotuner()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(GroupSize = "64")]
                public static void K(ArrayView<float> x, [Shape] int n)
                {
                    int i = Grid.GlobalIndex.X;
                    if (i < n)
                        x[i] = 2f * x[i];
                }
            """));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string source = run.Generated(".K.g.cs");
        Assert.DoesNotContain("KernelAutotuner", source);
        Assert.DoesNotContain("ks_TuneK", source);
        Assert.Contains("ks_LaunchKCandidate(device, 0, x, n); // one candidate: nothing to tune", source);
    }

    [Fact]
    public void MoreThanFourTuningShapesKeepTheStringKeyedChoice()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(GroupSize = "blockSize")]
                public static void K(ArrayView<float> x, [Shape] int a, [Shape] int b, [Shape] int c, [Shape] int d, [Shape] int e,
                    [Constant(32, 64)] int blockSize)
                {
                    int i = Grid.GlobalIndex.X;
                    if (i < a + b + c + d + e)
                        x[i] = 2f * x[i];
                }
            """));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string source = run.Generated(".K.g.cs");
        Assert.DoesNotContain("TryRecall", source);
        Assert.DoesNotContain("TuningSite", source);
        Assert.Contains("\"e=\" + e.ToString(", Method(source, "private static int ks_TuneK("));
    }

    /// <summary>The text of the member whose declaration starts with <paramref name="declaration"/>, to its closing brace.</summary>
    private static string Method(string source, string declaration)
    {
        int start = source.IndexOf(declaration, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {declaration} in the generated source");
        int open = source.IndexOf('{', start);
        int depth = 0;
        for (int i = open; i < source.Length; i++)
        {
            if (source[i] == '{')
                depth++;
            else if (source[i] == '}' && --depth == 0)
                return source[start..(i + 1)];
        }
        throw new InvalidOperationException($"{declaration} has no closing brace");
    }
}
