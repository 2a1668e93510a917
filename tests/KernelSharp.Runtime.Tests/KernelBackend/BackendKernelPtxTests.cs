using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Tensors;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The kernels written for the model backend (tensor copies and fills, transformers-style routing, expert row gather,
/// selection compaction) compile with ILGPU's CUDA backend, each generated variant included — no GPU needed; the CPU
/// tests alone would not notice a construct the PTX backend rejects.
/// </summary>
public sealed class BackendKernelPtxTests
{
    private static readonly Type[] KernelClasses = [typeof(TensorKernels), typeof(ZeroFillRouterKernels), typeof(ExpertGatherKernels), typeof(SelectionKernels)];

    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var method in KernelMethods())
        {
            data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernel_compiles_to_ptx(string kernel)
    {
        var method = KernelMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == kernel);
        Assert.Contains(".entry", PtxCompiler.Compile(method));
    }

    /// <summary>Every [Kernel] method of the classes and every generated variant of one (Name__…).</summary>
    private static IEnumerable<MethodInfo> KernelMethods()
    {
        var methods = KernelClasses.SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static)).ToArray();
        var kernelNames = methods.Where(m => m.GetCustomAttribute<KernelAttribute>() is not null).Select(m => m.Name).ToHashSet();
        return methods.Where(m => kernelNames.Contains(m.Name) || (m.Name.Contains("__", StringComparison.Ordinal) && kernelNames.Contains(m.Name[..m.Name.IndexOf("__", StringComparison.Ordinal)])));
    }
}
