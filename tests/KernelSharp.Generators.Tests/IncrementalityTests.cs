using KernelSharp.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// The pipeline caches: an edit that does not change a kernel's model regenerates nothing, an edit that does
/// (a constant value, a config value) regenerates that kernel.
/// </summary>
public sealed class IncrementalityTests
{
    private static readonly string Kernel = KernelSources.InClass(KernelSources.Elementwise);

    private static (GeneratorDriver Driver, Compilation Compilation) FirstRun(params AdditionalText[] files)
    {
        var compilation = GeneratorHarness.Compile(Kernel, "namespace Other; public static class Unrelated { public static int Value => 1; }");
        var driver = GeneratorHarness.CreateDriver(files).RunGenerators(compilation);
        return (driver, compilation);
    }

    private static IncrementalStepRunReason[] Reasons(GeneratorDriver driver, string step) =>
        driver.GetRunResult().Results.Single().TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();

    private static Compilation ReplaceTree(Compilation compilation, int index, string text)
    {
        var old = compilation.SyntaxTrees.ElementAt(index);
        return compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, path: old.FilePath));
    }

    [Fact]
    public void UnrelatedFileEditRegeneratesNothing()
    {
        var (driver, compilation) = FirstRun();
        var edited = ReplaceTree(compilation, 1, "namespace Other; public static class Unrelated { public static int Value => 2; }");
        driver = driver.RunGenerators(edited);
        Assert.All(Reasons(driver, KernelGenerator.EmitStep), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
    }

    [Fact]
    public void EditAfterTheKernelInTheSameFileKeepsTheModel()
    {
        // (An edit before the kernel moves its location, which diagnostics carry, so that one does regenerate.)
        var (driver, compilation) = FirstRun();
        var edited = ReplaceTree(compilation, 0, Kernel.TrimEnd().TrimEnd('}') + "    public static int Helper() => 42;\n}\n");
        driver = driver.RunGenerators(edited);
        Assert.All(Reasons(driver, KernelGenerator.ParseStep), r => Assert.Equal(IncrementalStepRunReason.Unchanged, r));
        Assert.All(Reasons(driver, KernelGenerator.EmitStep), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
    }

    [Fact]
    public void ChangedConstantRegenerates()
    {
        var (driver, compilation) = FirstRun();
        var edited = ReplaceTree(compilation, 0, Kernel.Replace("[Constant(128, 256)]", "[Constant(128, 512)]"));
        driver = driver.RunGenerators(edited);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, KernelGenerator.ParseStep));
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, KernelGenerator.EmitStep));
        Assert.Contains("Scale__blockSize512", driver.GetRunResult().GeneratedTrees.Single().ToString());
    }

    [Fact]
    public void ChangedConfigValueRegeneratesShapedKernel()
    {
        var source = KernelSources.InClass(KernelSources.ConfigShaped);
        var compilation = GeneratorHarness.Compile(source);
        var config = new InMemoryAdditionalText("/m/config.json", "{ \"hidden_size\": 1024 }");
        GeneratorDriver driver = GeneratorHarness.CreateDriver(config).RunGenerators(compilation);
        Assert.Contains("RowScale__hidden1024", driver.GetRunResult().GeneratedTrees.Single().ToString());

        driver = driver.ReplaceAdditionalText(config, new InMemoryAdditionalText("/m/config.json", "{ \"hidden_size\": 3072 }")).RunGenerators(compilation);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, KernelGenerator.EmitStep));
        string generated = driver.GetRunResult().GeneratedTrees.Single().ToString();
        Assert.Contains("RowScale__hidden3072", generated);
        Assert.DoesNotContain("RowScale__hidden1024", generated);
    }
}
