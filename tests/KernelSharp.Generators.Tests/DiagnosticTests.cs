using KernelSharp.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>Each KS#### diagnostic, triggered by the smallest kernel that shows the mistake.</summary>
public sealed class DiagnosticTests
{
    private static Diagnostic Single(string source, string id)
    {
        var run = GeneratorHarness.Run(source);
        var found = run.GeneratorDiagnostics.Where(d => d.Id == id).ToList();
        Assert.True(found.Count >= 1, $"expected {id}, got: {string.Join("; ", run.GeneratorDiagnostics)}");
        var diagnostic = found[0];
        Assert.Equal("Kernel0.cs", diagnostic.Location.SourceTree?.FilePath ?? diagnostic.Location.GetLineSpan().Path);
        Assert.False(string.IsNullOrWhiteSpace(diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)));
        return diagnostic;
    }

    private static string Message(Diagnostic diagnostic) => diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void CleanKernelHasNoDiagnostics()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass(KernelSources.RmsNorm));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
    }

    [Fact]
    public void KS0001_KernelNotStatic()
    {
        var diagnostic = Single(KernelSources.InClass("""
                [Kernel] public void Bad(ArrayView<float> x) { x[0] = 1; }
            """), "KS0001");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains("is not static", Message(diagnostic));
    }

    [Fact]
    public void KS0001_KernelReturnsValue() =>
        Assert.Contains("does not return void", Message(Single(KernelSources.InClass("""
                [Kernel] public static int Bad(ArrayView<float> x) => 1;
            """), "KS0001")));

    [Fact]
    public void KS0002_ClassNotPartial()
    {
        var diagnostic = Single(KernelSources.Usings + """
            public static class NotPartial
            {
                [Kernel] public static void K(ArrayView<float> x) { x[0] = 1; }
            }
            """, "KS0002");
        Assert.Contains("static partial class NotPartial", Message(diagnostic));
    }

    [Fact]
    public void KS0003_UnsupportedParameterType()
    {
        var diagnostic = Single(KernelSources.InClass("""
                [Kernel] public static void K(float[] values, int n) { values[0] = n; }
            """), "KS0003");
        Assert.Contains("'values'", Message(diagnostic));
        Assert.Contains("ArrayView<T>", Message(diagnostic));
    }

    [Fact]
    public void KS0003_ConstantMustBeInt() =>
        Assert.Contains("must be 'int'", Message(Single(KernelSources.InClass("""
                [Kernel] public static void K(ArrayView<float> x, [Constant(1, 2)] long tile) { x[0] = tile; }
            """), "KS0003")));

    [Fact]
    public void KS0003_ConstantAssignedInBody() =>
        Assert.Contains("must not assign it", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")] public static void K(ArrayView<float> x, [Constant(1, 2)] int tile) { tile += 1; x[0] = tile; }
            """), "KS0003")));

    [Fact]
    public void KS0003_ReservedParameterName() =>
        Assert.Contains("'device'", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")] public static void K(ArrayView<float> x, int device) { x[0] = device; }
            """), "KS0003")));

    [Fact]
    public void KS0004_GroupSizeNotMultipleOf32()
    {
        var diagnostic = Single(KernelSources.InClass("""
                [Kernel(GroupSize = "blockSize")] public static void K(ArrayView<float> x, [Constant(64, 48)] int blockSize) { x[Group.IdxX] = 1; }
            """), "KS0004");
        Assert.Contains("group size 48", Message(diagnostic));
        Assert.Contains("K__blockSize48", Message(diagnostic));
    }

    [Fact]
    public void KS0004_GroupSizeOver1024() =>
        Assert.Contains("group size 2048", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "2048")] public static void K(ArrayView<float> x) { x[Group.IdxX] = 1; }
            """), "KS0004")));

    [Fact]
    public void KS0004_PowerOfTwoViolated() =>
        Assert.Contains("powers of two but lists 96", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")] public static void K(ArrayView<float> x, [Constant(64, 96, PowerOfTwo = true)] int tile) { x[0] = tile; }
            """), "KS0004")));

    [Fact]
    public void KS0005_SharedMemoryOver48KB()
    {
        var diagnostic = Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, [Constant(1024, 16384)] int tile)
                {
                    var shared = SharedMemory.Allocate<float>(tile);
                    shared[Group.IdxX] = x[Group.IdxX];
                }
            """), "KS0005");
        Assert.Contains("K__tile16384", Message(diagnostic));
        Assert.Contains("65536 bytes", Message(diagnostic));
    }

    [Fact]
    public void KS0006_TooManyVariants() =>
        Assert.Contains("72 variants", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, [Constant(1, 2, 3, 4, 5, 6, 7, 8, 9)] int a, [Constant(1, 2, 3, 4, 5, 6, 7, 8)] int b) { x[0] = a + b; }
            """), "KS0006")));

    [Fact]
    public void KS0007_UnrolledLoopTooLarge()
    {
        var body = string.Join("\n", Enumerable.Range(0, 20).Select(i => $"            acc += x[k * 20 + {i}];"));
        string source = KernelSources.InClass($$"""
                [Kernel(GroupSize = "32", MaxUnroll = 64)]
                public static void K(ArrayView<float> x, [Constant(64)] int steps)
                {
                    float acc = 0;
                    for (int k = 0; k < steps; k++)
                    {
            {{body}}
                    }
                    x[0] = acc;
                }
            """);
        var diagnostic = Single(source, "KS0007");
        Assert.Contains("1344 statements", Message(diagnostic));
        // The location points at the loop's 'for' keyword, on the right line.
        Assert.Equal("for", source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        int line = source.Substring(0, diagnostic.Location.SourceSpan.Start).Count(c => c == '\n');
        Assert.Equal(line, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
    }

    [Fact]
    public void KS0008_NoVariantCanServeShape()
    {
        var diagnostic = Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, [Shape(ConfigKey = "head_dim")] int headDim)
                {
                    var tile = SharedMemory.Allocate<float>(headDim);
                    tile[Group.IdxX] = x[Group.IdxX];
                }
            """), "KS0008");
        Assert.Contains("'headDim'", Message(diagnostic));
        Assert.Contains("'head_dim'", Message(diagnostic));
    }

    [Fact]
    public void KS0008_ListedShapesStillCompileWithoutGeneric()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, [Shape(64, 128)] int headDim)
                {
                    var tile = SharedMemory.Allocate<float>(headDim);
                    tile[Group.IdxX] = x[Group.IdxX];
                    Group.Barrier();
                    x[Group.IdxX] = tile[(Group.IdxX + 1) % 32];
                }
            """));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string source = run.Generated(".K.g.cs");
        Assert.Contains("K__headDim64", source);
        Assert.DoesNotContain("K__generic(", source);
        Assert.Contains("only the listed [Shape] values are compiled", source);
    }

    [Fact]
    public void KS0009_CpuPathUnavailableIsInfoOnly()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass(KernelSources.NestedCollective));
        var diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("KS0009", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Info, diagnostic.Severity);
        Assert.Contains("nested statement", Message(diagnostic));
        Assert.Empty(run.CompileProblems);
        Assert.DoesNotContain("NestedCpu(", run.Generated(".Nested.g.cs"));
    }

    [Fact]
    public void KS0009_BreakOutOfAGroupLoopHasNoCpuPath()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(Grid = "1", GroupSize = "32")]
                public static void K(ArrayView<float> x, int tiles)
                {
                    for (int tile = 0; tile < tiles; tile++)
                    {
                        if (x[tile] < 0)
                            break;
                        x[tile * 32 + Group.IdxX] += 1;
                        KsGroup.Barrier();
                    }
                }
            """));
        var diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("KS0009", diagnostic.Id);
        Assert.Contains("break, continue or goto", Message(diagnostic));
        Assert.Empty(run.CompileProblems);
    }

    [Fact]
    public void KS0010_SharedMemoryLengthNotConstant() =>
        Assert.Contains("'n'", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, int n)
                {
                    var tile = SharedMemory.Allocate<float>(n);
                    tile[Group.IdxX] = x[Group.IdxX];
                }
            """), "KS0010")));

    [Fact]
    public void KS0011_GroupSizeDoesNotFold() =>
        Assert.Contains("GroupSize \"n\"", Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "n")] public static void K(ArrayView<float> x, int n) { x[0] = n; }
            """), "KS0011")));

    [Fact]
    public void EveryDescriptorHasAStableIdAndAFix()
    {
        var ids = Diagnostics.DiagnosticDescriptors.All.Select(d => d.Id).ToList();
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => $"KS{i:0000}"), ids);
        Assert.All(Diagnostics.DiagnosticDescriptors.All, d => Assert.Contains(":", d.MessageFormat.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
