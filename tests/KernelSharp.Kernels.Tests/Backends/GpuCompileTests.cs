using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Embedding;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Norms;
using KernelSharp.Kernels.Rope;
using KernelSharp.Kernels.Sampling;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Every generated GPU variant of the dense kernels compiles to PTX (no GPU needed): a construct ILGPU's GPU
/// backends reject (a managed array, a host-only call outside a CPU body) fails here instead of on the H200.
/// The group-size-1 variants are CPU shapes but must compile too: the launcher may try them on a GPU while tuning.
/// </summary>
public sealed class GpuCompileTests
{
    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        Type[] kernelClasses =
        [
            typeof(GemvKernels), typeof(GemmKernels), typeof(RmsNormKernels), typeof(LayerNormKernels), typeof(RopeKernels),
            typeof(SwiGluKernels), typeof(SoftmaxKernels), typeof(EmbeddingKernels), typeof(ArgmaxKernels), typeof(SampleKernels),
        ];
        foreach (var type in kernelClasses)
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => p.Name.EndsWith("Variants", StringComparison.Ordinal)))
            {
                foreach (var variant in (IReadOnlyList<KernelVariantInfo>)property.GetValue(null)!)
                {
                    data.Add($"{type.Name}.{variant.Method}");
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Variant_compiles_to_ptx(string variant)
    {
        string[] parts = variant.Split('.');
        var type = typeof(GemvKernels).Assembly.GetTypes().Single(t => t.Name == parts[0]);
        var method = type.GetMethod(parts[1], BindingFlags.Public | BindingFlags.Static)!;
        string ptx = PtxCompiler.Compile(method);
        Assert.Contains(".entry", ptx);
    }
}
