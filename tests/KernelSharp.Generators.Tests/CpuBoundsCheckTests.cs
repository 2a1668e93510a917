using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// The generated CPU path of a Debug build turns an out-of-range view access into an exception naming the kernel,
/// the view and the index; a Release build indexes the view directly.
/// </summary>
public sealed class CpuBoundsCheckTests
{
    // Thread 31 of the last group reads x[n]: one past the end.
    private const string OffByOne = """
            [Kernel(Grid = "(n + 31) / 32", GroupSize = "32")]
            public static void ShiftLeft(ArrayView<float> x, ArrayView<float> y, int n)
            {
                int i = Grid.IdxX * 32 + Group.IdxX;
                if (i < n)
                    y[i] = x[i + 1];
            }
        """;

    [Fact]
    public void DebugBuildThrowsNamingKernelViewAndIndex()
    {
        var shiftLeft = CompileCpuPath(OffByOne, "DEBUG");
        using var x = TestDevices.FastCpu.Allocate<float>(64);
        using var y = TestDevices.FastCpu.Allocate<float>(64);
        var failure = Assert.Throws<TargetInvocationException>(() => shiftLeft.Invoke(null, [(ArrayView<float>)x.View, (ArrayView<float>)y.View, 64]));
        var outOfRange = Assert.IsType<KernelIndexOutOfRangeException>(failure.InnerException);
        Assert.Equal("kernel 'ShiftLeft' accessed x[64], but x has 64 elements (valid indices 0 to 63)", outOfRange.Message);
        Assert.Equal(("ShiftLeft", "x", 64L, 64L), (outOfRange.Kernel, outOfRange.View, outOfRange.Index, outOfRange.Length));
    }

    [Fact]
    public void DebugBuildRunsInRangeAccessesUnchanged()
    {
        var shiftLeft = CompileCpuPath(OffByOne, "DEBUG");
        using var x = TestDevices.FastCpu.Allocate<float>(65);
        using var y = TestDevices.FastCpu.Allocate<float>(64);
        x.CopyFromCPU(Enumerable.Range(0, 65).Select(i => (float)i).ToArray());
        shiftLeft.Invoke(null, [(ArrayView<float>)x.View, (ArrayView<float>)y.View, 64]);
        Assert.Equal(Enumerable.Range(1, 64).Select(i => (float)i), y.GetAsArray1D());
    }

    [Fact]
    public void ReleaseBuildHasNoCheck()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass(OffByOne));
        string generated = run.Generated(".ShiftLeft.g.cs");
        Assert.Contains("y[ks_ShiftLeftIndex(y, ks_i_0[ks_t], \"y\")]".Replace("ks_i_0[ks_t]", IndexOf(generated, "y[ks_ShiftLeftIndex(y, ")), generated);
        Assert.Contains("#else", generated);
        Assert.Contains("where T : unmanaged => index;", generated);
        Assert.Empty(run.CompileProblems);
    }

    private static string IndexOf(string generated, string prefix)
    {
        int start = generated.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length;
        return generated.Substring(start, generated.IndexOf(',', start) - start);
    }

    /// <summary>Generates the kernel's code with the given preprocessor symbols, compiles it, and returns its <c>NameCpu</c> method.</summary>
    private static MethodInfo CompileCpuPath(string members, params string[] symbols)
    {
        var options = GeneratorHarness.ParseOptions.WithPreprocessorSymbols(symbols);
        var source = CSharpSyntaxTree.ParseText(KernelSources.InClass(members), options, path: "Kernel0.cs");
        var plain = GeneratorHarness.Compile(KernelSources.InClass(members));
        var compilation = plain.ReplaceSyntaxTree(plain.SyntaxTrees.Single(), source);
        var driver = CSharpGeneratorDriver.Create([new KernelGenerator().AsSourceGenerator()], parseOptions: options);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        var assembly = Assembly.Load(image.ToArray());
        return assembly.GetType("Samples.Kernels.SampleKernels")!.GetMethod("ShiftLeftCpu")!;
    }
}
