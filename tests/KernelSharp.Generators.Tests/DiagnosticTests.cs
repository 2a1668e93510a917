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
    public void KS0009_CpuPathUnavailableIsAWarning()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass(KernelSources.NestedCollective));
        var diagnostic = Assert.Single(run.GeneratorDiagnostics, d => d.Id == "KS0009");
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
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

    /// <summary>The text the diagnostic underlines.</summary>
    private static string Underlined(string source, Diagnostic diagnostic) =>
        source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length);

    private static (Diagnostic Diagnostic, string Source) SingleIn(string members, string id)
    {
        string source = KernelSources.InClass(members);
        return (Single(source, id), source);
    }

    [Fact]
    public void KS0011_GridNamesAMissingParameter()
    {
        var (diagnostic, source) = SingleIn("""
                [Kernel(Grid = "rowz", GroupSize = "32")] public static void K(ArrayView<float> x, int rows) { x[Grid.IdxX] = rows; }
            """, "KS0011");
        Assert.Equal("Kernel 'K': Grid \"rowz\" names 'rowz', which is not a parameter of the kernel or a constant in scope (parameters: x, rows); did you mean 'rows'?",
            Message(diagnostic));
        Assert.Equal("\"rowz\"", Underlined(source, diagnostic));
    }

    [Fact]
    public void KS0011_GroupSizeIsNotAnExpression() =>
        Assert.Equal("Kernel 'K': GroupSize \"blockSize +\" is not a C# expression: write an expression over the parameters, e.g. \"(n + 255) / 256\"",
            Message(Single(KernelSources.InClass("""
                [Kernel(GroupSize = "blockSize +")] public static void K(ArrayView<float> x, [Constant(32)] int blockSize) { x[0] = blockSize; }
            """), "KS0011")));

    [Fact]
    public void KS0011_ConstantsAndMathInGridAreAccepted()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                private const int Rows = 4;
                [Kernel(Grid = "System.Math.Max(n / Rows, 1)", GroupSize = "32")] public static void K(ArrayView<float> x, int n) { x[Grid.IdxX] = n; }
            """));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
    }

    [Fact]
    public void KS0012_ClassInstanceInAHelper()
    {
        var (diagnostic, source) = SingleIn("""
                private sealed class Helper { public float Scale = 2; }
                private static float Scaled(float v) { var h = new Helper(); return v * h.Scale; }
                [Kernel(GroupSize = "32")] public static void K(ArrayView<float> x) { x[Group.IdxX] = Scaled(x[Group.IdxX]); }
            """, "KS0012");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("'SampleKernels.Scaled' (called by kernel 'K'): uses a value of type 'Samples.Kernels.SampleKernels.Helper', a reference type, and GPU code has no garbage-collected heap: use structs, ArrayView parameters or SharedMemory",
            Message(diagnostic));
        Assert.Equal("new Helper()", Underlined(source, diagnostic));
    }

    [Fact]
    public void KS0012_StringBoxingLambdaAndVariableArray()
    {
        string source = KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, int n)
                {
                    string name = "k";
                    object boxed = n;
                    System.Func<float, float> twice = v => 2 * v;
                    var scratch = new float[n];
                    var fixedScratch = new float[4];
                    fixedScratch[0] = x[0];
                    System.Diagnostics.Debug.Assert(n >= 0, "n must not be negative");
                    x[Group.IdxX] = name.Length + scratch.Length + fixedScratch[0];
                }
            """);
        var found = GeneratorHarness.Run(source).GeneratorDiagnostics.Where(d => d.Id == "KS0012").ToList();
        var underlined = found.Select(d => Underlined(source, d)).ToList();
        Assert.Contains("\"k\"", underlined);
        Assert.Contains("n", underlined);
        Assert.Contains("v => 2 * v", underlined);
        Assert.Contains("new float[n]", underlined);
        Assert.DoesNotContain("new float[4]", underlined);
        Assert.DoesNotContain("\"n must not be negative\"", underlined);
        Assert.Contains(found, d => Message(d) == "Kernel 'K': converts 'int' to 'object' (boxing), which needs the heap: keep the value in its own type, and call interface methods through a constrained type parameter");
        Assert.Contains(found, d => Message(d).StartsWith("Kernel 'K': creates an array whose length 'n' is not a compile-time constant", StringComparison.Ordinal));
    }

    [Fact]
    public void KS0013_ThrowAndTry()
    {
        string source = KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, int n)
                {
                    if (n < 0)
                        throw new System.ArgumentOutOfRangeException(nameof(n));
                    try { x[Group.IdxX] = n; }
                    finally { x[0] = 0; }
                }
            """);
        var found = GeneratorHarness.Run(source).GeneratorDiagnostics.Where(d => d.Id == "KS0013").ToList();
        Assert.Equal(2, found.Count);
        Assert.Equal("throw new System.ArgumentOutOfRangeException(nameof(n));", Underlined(source, found[0]));
        Assert.Equal("Kernel 'K': throws an exception, and GPU code has no exceptions: check the condition on the host before the launch, or use Debug.Assert (checked on the CPU accelerator)",
            Message(found[0]));
        Assert.Equal("try", Underlined(source, found[1]));
        Assert.Equal(DiagnosticSeverity.Error, found[1].Severity);
    }

    [Fact]
    public void KS0014_RecursionThroughAHelper()
    {
        var (diagnostic, source) = SingleIn("""
                private static int Factorial(int n) => n <= 1 ? 1 : n * Factorial(n - 1);
                [Kernel(GroupSize = "32")] public static void K(ArrayView<float> x) { x[Group.IdxX] = Factorial(Group.IdxX); }
            """, "KS0014");
        Assert.Equal("'SampleKernels.Factorial' (called by kernel 'K'): calls 'Factorial' recursively (Factorial → Factorial), and PTX cannot compile a recursive program: rewrite it as a loop",
            Message(diagnostic));
        Assert.Equal("Factorial(n - 1)", Underlined(source, diagnostic));
    }

    [Fact]
    public void KS0015_InterfaceCallButConstrainedCallIsFine()
    {
        string source = KernelSources.InClass("""
                public interface IOp { float Apply(float v); }
                public struct Twice : IOp { public float Apply(float v) => 2 * v; }
                private static float Constrained<T>(T op, float v) where T : struct, IOp => op.Apply(v);
                private static float ThroughInterface(IOp op, float v) => op.Apply(v);
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x)
                {
                    x[Group.IdxX] = Constrained(new Twice(), x[Group.IdxX]) + ThroughInterface(new Twice(), 1f);
                }
            """);
        var diagnostics = GeneratorHarness.Run(source).GeneratorDiagnostics;
        var virtualCall = Assert.Single(diagnostics, d => d.Id == "KS0015");
        Assert.Equal("op.Apply(v)", Underlined(source, virtualCall));
        Assert.Equal("'SampleKernels.ThroughInterface' (called by kernel 'K'): calls 'Apply' through the interface 'Samples.Kernels.SampleKernels.IOp', a virtual call on a heap object ILGPU cannot compile: make the method generic over 'T : struct, IOp' and call it on a T",
            Message(virtualCall));
        // Passing the struct as the interface boxes it: that is the KS0012 at the call site.
        var boxing = Assert.Single(diagnostics, d => d.Id == "KS0012");
        Assert.Equal("new Twice()", Underlined(source, boxing));
        Assert.Equal(source.IndexOf("ThroughInterface(new Twice()", StringComparison.Ordinal) + "ThroughInterface(".Length, boxing.Location.SourceSpan.Start);
    }

    [Fact]
    public void KS0016_MutableStaticField()
    {
        var (diagnostic, source) = SingleIn("""
                private static float scale = 2;
                private static readonly float Offset = 1;
                [Kernel(GroupSize = "32")] public static void K(ArrayView<float> x) { x[Group.IdxX] = scale + Offset; }
            """, "KS0016");
        Assert.Equal("Kernel 'K': uses the static field 'SampleKernels.scale', which is not readonly, and GPU threads cannot see host statics: make it 'const' or 'static readonly', or pass the value as a parameter",
            Message(diagnostic));
        Assert.Equal("scale", Underlined(source, diagnostic));
    }

    [Fact]
    public void KS0017_ReductionInsideAThreadDependentCondition()
    {
        var (diagnostic, source) = SingleIn(KernelSources.NestedCollective, "KS0017");
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Equal("Kernel 'Nested': 'KsGroup.Sum(v)' is inside 'if (v > 0)', which is not the same for every thread of the group: every thread of the group must reach it, or the GPU hangs or reads undefined values; move it out of the condition (compute a neutral value such as 0 in the threads that skip the work)",
            Message(diagnostic));
        Assert.Equal("KsGroup.Sum(v)", Underlined(source, diagnostic));
    }

    [Fact]
    public void KS0017_BarrierAfterAnEarlyReturn()
    {
        var (diagnostic, source) = SingleIn("""
                [Kernel(Grid = "1", GroupSize = "64")]
                public static void K(ArrayView<float> x, int n)
                {
                    int i = Group.IdxX;
                    if (i >= n)
                        return;
                    x[i] = 1;
                    Group.Barrier();
                    x[i] += x[(i + 1) % n];
                }
            """, "KS0017");
        int returnLine = source.Substring(0, source.IndexOf("return;", StringComparison.Ordinal)).Count(c => c == '\n') + 1;
        Assert.Contains($"'Group.Barrier()' comes after 'return' (line {returnLine}), which only some threads of the group take", Message(diagnostic));
    }

    [Fact]
    public void KS0017_UniformConditionsAndWarpLevelBranchesAreFine()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(Grid = "rows", GroupSize = "64")]
                public static void K(ArrayView<float> x, int rows, int cols)
                {
                    int row = Grid.IdxX;
                    if (row >= rows)
                        return;
                    float partial = 0;
                    for (int c = Group.IdxX; c < cols; c += 64)
                        partial += x[row * cols + c];
                    float total = KsGroup.Sum(partial);
                    int thread = Group.IdxX;
                    int warp = thread / 32;
                    float warpTotal = 0;
                    if (warp == 0)
                        warpTotal = KsWarp.Sum(partial);
                    if (cols > 1)
                        total = KsGroup.Max(total);
                    if (Group.IdxX == 0)
                        x[row * cols] = total + warpTotal;
                }
            """));
        Assert.DoesNotContain(run.GeneratorDiagnostics, d => d.Id == "KS0017");
    }

    [Fact]
    public void KS0018_TypeParameterWithoutStructConstraint()
    {
        var (diagnostic, source) = SingleIn("""
                public interface IRowSource { float Load(long index); }
                [Kernel(GroupSize = "32")] public static void K<TSource>(TSource source, ArrayView<float> y) where TSource : IRowSource { y[Group.IdxX] = source.Load(Group.IdxX); }
            """, "KS0018");
        Assert.Equal("Type parameter 'TSource' of kernel 'K' is not constrained to 'struct': declare 'where TSource : struct, IYourInterface' and call the interface's methods on a TSource value (ILGPU compiles a kernel per struct type argument; interface or class type arguments cannot run on a GPU)",
            Message(diagnostic));
        Assert.Equal("TSource", Underlined(source, diagnostic));
    }

    [Theory]
    [InlineData("", "'SampleKernels' has no method of that name")]
    [InlineData("private static void RowHost(ArrayView<float> y, int n, int groupX) { }",
        "no 'RowHost' is static, returns void and takes (ILGPU.ArrayView<float>, int, int, int)")]
    [InlineData("private void RowHost(ArrayView<float> y, int n, int groupX, int groupY) { }",
        "no 'RowHost' is static, returns void and takes (ILGPU.ArrayView<float>, int, int, int)")]
    public void KS0019_HostGroupThatDoesNotFit(string hostForm, string problem)
    {
        var (diagnostic, source) = SingleIn($$"""
                [Kernel(Grid = "n", GroupSize = "32", HostGroup = "RowHost")] public static void Row(ArrayView<float> y, int n) { y[Grid.IdxX] = 1f; }
                {{hostForm}}
            """, "KS0019");
        Assert.Equal($"Kernel 'Row' names HostGroup 'RowHost', but {problem}: declare 'static void RowHost(<the kernel's parameters in order>, int groupX, int groupY)' in the kernel's class (the CPU path calls it once per group)",
            Message(diagnostic));
        Assert.Equal("Row", Underlined(source, diagnostic));
    }

    [Theory]
    [InlineData("HostGroup = \"RowHost\", HostGroupSpanX = 0", "HostGroupSpanX = 0", "it is below 1")]
    [InlineData("HostGroup = \"RowHost\", HostGroupSpanY = -2", "HostGroupSpanY = -2", "it is below 1")]
    [InlineData("HostGroupSpanX = 4", "HostGroupSpanX = 4", "the kernel names no HostGroup")]
    public void KS0020_HostGroupSpanThatCannotBeUsed(string arguments, string setting, string problem)
    {
        var (diagnostic, source) = SingleIn($$"""
                [Kernel(Grid = "n", GroupSize = "32", {{arguments}})] public static void Row(ArrayView<float> y, int n) { y[Grid.IdxX] = 1f; }
                private static void RowHost(ArrayView<float> y, int n, int groupX, int groupY) { y[groupX] = 1f; }
            """, "KS0020");
        Assert.Equal($"Kernel 'Row' sets {setting}, but {problem}: a span is how many groups one call of the HostGroup form computes, a whole number of at least 1, and needs HostGroup",
            Message(diagnostic));
        Assert.Equal("Row", Underlined(source, diagnostic));
    }

    [Fact]
    public void KS0003_InterfaceTypedParameter() =>
        Assert.Equal("Parameter 'source' of kernel 'K' has type 'Samples.Kernels.SampleKernels.IRowSource': an interface-typed parameter makes every call on it virtual, which ILGPU cannot compile: make the kernel generic, 'K<T>(T source, ...) where T : struct, IRowSource'",
            Message(Single(KernelSources.InClass("""
                public interface IRowSource { float Load(long index); }
                [Kernel(GroupSize = "32")] public static void K(IRowSource source, ArrayView<float> y) { y[Group.IdxX] = source.Load(Group.IdxX); }
            """), "KS0003")));

    [Fact]
    public void FormatGenericKernelHasNoDiagnostics()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass(KernelSources.FormatGeneric));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
    }

    [Fact]
    public void EveryDescriptorHasAStableIdAndAFix()
    {
        var ids = Diagnostics.DiagnosticDescriptors.All.Select(d => d.Id).ToList();
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => $"KS{i:0000}"), ids);
        Assert.All(Diagnostics.DiagnosticDescriptors.All, d => Assert.Contains(":", d.MessageFormat.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
