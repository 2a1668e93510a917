using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;

namespace KernelSharp.Dsl.Tests;

/// <summary>
/// Compiles a kernel to OpenCL C with ILGPU's OpenCL backend, no device needed, as for a non-Intel device without
/// sub-groups (PoCL on the GPU machine): the setting in which ILGPU cannot emit shuffles.
/// </summary>
public static class OpenClSource
{
    public static string Compile(MethodInfo kernel)
    {
        using var context = Context.Create(builder => builder.Optimize(OptimizationLevel.O2));
        KernelSharpIntrinsics.Register(context);
        using var backend = new CLBackend(context, Capabilities(), CLDeviceVendor.Other, CLCVersion.CL20);
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        return ((CLCompiledKernel)backend.Compile(entry, new KernelSpecialization())).Source;
    }

    /// <summary>Every capability except sub-groups; set by parameter name since the constructor is generated.</summary>
    private static CLCapabilityContext Capabilities()
    {
        var constructor = typeof(CLCapabilityContext).GetConstructors().Single(c => c.GetParameters().All(p => p.ParameterType == typeof(bool)));
        object[] flags = constructor.GetParameters()
            .Select(p => (object)!p.Name!.Contains("SubGroup", StringComparison.OrdinalIgnoreCase))
            .ToArray();
        return (CLCapabilityContext)constructor.Invoke(flags);
    }
}
