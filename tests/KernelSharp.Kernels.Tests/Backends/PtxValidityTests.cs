using System.Reflection;
using System.Text.RegularExpressions;
using KernelSharp.Dsl;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Every generated variant's PTX must assemble. ptxas is not on CI machines, so this checks the one defect seen on the
/// H200: ILGPU 1.5.3 can write an instruction without a type suffix (`@!%p1 mov %rd17, 16;` inside AlignTo), which the
/// driver JIT rejects with "a PTX JIT compilation failed". Only branches may go without a suffix.
/// </summary>
public sealed class PtxValidityTests
{
    private static readonly Regex UntypedInstruction = new(@"^\s*(@!?%p\d+\s+)?(?!bra\b|ret\b|exit\b)[a-z]+\s", RegexOptions.Compiled);

    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        foreach (var method in VariantMethods())
            data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Variant_ptx_has_no_untyped_instruction(string variant)
    {
        var method = VariantMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == variant);
        string ptx = PtxCompiler.Compile(method);

        var untyped = ptx.Split('\n').Where(line => UntypedInstruction.IsMatch(line)).Take(3).ToArray();

        Assert.True(untyped.Length == 0, $"{variant}: untyped PTX instruction(s): {string.Join(" | ", untyped.Select(l => l.Trim()))}");
    }

    private static IEnumerable<MethodInfo> VariantMethods() =>
        typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name.Contains("__", StringComparison.Ordinal) && m.ReturnType == typeof(void))
            .OrderBy(m => m.DeclaringType!.Name + "." + m.Name, StringComparer.Ordinal);
}
