using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.TopK;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// The sparse-attention and MoE kernels compiled to OpenCL C by ILGPU's OpenCL backend, no device needed, for a
/// device like PoCL's CPU device: no sub-groups (so no shuffles), no generic address space, no 64-bit atomics, fp64
/// present (Fp8E4M3.ToFloat converts its uint mantissa through a double today).
/// </summary>
public class SparseKernelOpenClTests
{
    public static TheoryData<string> AllKernels()
    {
        var data = new TheoryData<string>();
        foreach (var method in KernelMethods())
        {
            data.Add(GenericKernels.Name(method));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllKernels))]
    public void Kernel_compiles_to_opencl_c(string kernel)
    {
        var method = KernelMethods().Single(m => GenericKernels.Name(m) == kernel);
        using var context = Context.Create(builder => builder.EnableAlgorithms().Optimize(OptimizationLevel.O2));
        KernelSharpIntrinsics.Register(context);
        var capabilities = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: false, int64_Atomics: false, subGroups: false);
        using var backend = new CLBackend(context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), new KernelSpecialization());
        Assert.Contains("kernel", compiled.Source);
    }

    private static IEnumerable<MethodInfo> KernelMethods() =>
        new[] { typeof(IndexerKernels), typeof(TopKKernels), typeof(MlaKernels), typeof(MoeKernels), typeof(PagingKernels) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<KernelAttribute>() is not null)
            .SelectMany(GenericKernels.Instances)
            .OrderBy(GenericKernels.Name, StringComparer.Ordinal);
}
