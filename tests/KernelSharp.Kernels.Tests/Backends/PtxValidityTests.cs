using System.Reflection;
using System.Text.RegularExpressions;
using KernelSharp.Dsl;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Every [Kernel] method of the library and every generated variant of one compiles to PTX with ILGPU's CUDA backend
/// (no GPU needed), so a construct the GPU backend rejects fails here rather than on the H200, and the PTX must
/// assemble. ptxas is not on CI machines, so this checks the one defect seen there: ILGPU 1.5.3 can write an
/// instruction without a type suffix (`@!%p1 mov %rd17, 16;` inside AlignTo), which the driver JIT rejects with
/// "a PTX JIT compilation failed". Only branches may go without a suffix. Group-size-1 variants are CPU shapes but
/// must compile too: the launcher may try them on a GPU while tuning.
/// </summary>
public sealed class PtxValidityTests
{
    private static readonly Regex UntypedInstruction = new(@"^\s*(@!?%p\d+\s+)?(?!bra\b|ret\b|exit\b)[a-z]+\s", RegexOptions.Compiled);

    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        foreach (var method in VariantMethods())
            data.Add(GenericKernels.Name(method));
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Kernel_compiles_to_ptx_without_untyped_instructions(string variant)
    {
        var method = VariantMethods().Single(m => GenericKernels.Name(m) == variant);
        string ptx;
        try
        {
            ptx = PtxCompiler.Compile(method);
        }
        catch (ILGPU.InternalCompilerException e) when (SizedByConstant(method, e))
        {
            return; // the kernel as written sizes shared memory by a [Constant]: only its variants (tested here too) compile
        }
        Assert.Contains(".entry", ptx);

        var untyped = ptx.Split('\n').Where(line => UntypedInstruction.IsMatch(line)).Take(3).ToArray();

        Assert.True(untyped.Length == 0, $"{variant}: untyped PTX instruction(s): {string.Join(" | ", untyped.Select(l => l.Trim()))}");
    }

    /// <summary>
    /// Whether <paramref name="failure"/> is ILGPU refusing a shared allocation whose length is not a constant in the
    /// kernel as written (the length is a [Constant] parameter the generator folds), for a kernel with generated variants.
    /// </summary>
    private static bool SizedByConstant(MethodInfo method, Exception failure)
    {
        bool asWritten = method.GetCustomAttribute<KernelAttribute>() is not null;
        bool hasVariants = method.DeclaringType!.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(m => m.Name.StartsWith(method.Name + "__", StringComparison.Ordinal));
        bool constantParameter = method.GetParameters().Any(p => p.GetCustomAttribute<ConstantAttribute>() is not null);
        return asWritten && hasVariants && constantParameter && failure.ToString().Contains("must be statically known", StringComparison.Ordinal);
    }

    /// <summary>
    /// Every [Kernel] method (the generic form) and every generated variant (<c>Name__...</c>: what GPU launches run);
    /// a format-generic one once per format struct of the library that satisfies its constraint.
    /// </summary>
    private static IEnumerable<MethodInfo> VariantMethods()
    {
        var assembly = typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly;
        var methods = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .ToArray();
        var kernels = methods.Where(m => m.GetCustomAttribute<KernelAttribute>() is not null).Select(m => (m.DeclaringType, m.Name)).ToHashSet();
        return methods
            .Where(m => kernels.Contains((m.DeclaringType, m.Name))
                || (m.Name.Contains("__", StringComparison.Ordinal) && kernels.Contains((m.DeclaringType, m.Name[..m.Name.IndexOf("__", StringComparison.Ordinal)]))))
            .SelectMany(GenericKernels.Instances)
            .OrderBy(GenericKernels.Name, StringComparer.Ordinal);
    }
}
