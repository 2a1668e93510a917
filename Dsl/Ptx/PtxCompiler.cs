using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl;

/// <summary>
/// Compiles a kernel method to PTX text with ILGPU's PTX backend, without a GPU: what the CUDA accelerator would
/// hand to the driver. For snapshot tests and for inspecting generated code (ptxas, register use, <c>.local</c>).
/// </summary>
public static class PtxCompiler
{
    /// <summary>Compute capability ILGPU 1.5.3 targets on Ampere and newer (Hopper runs sm_80 code).</summary>
    public static readonly CudaArchitecture DefaultArchitecture = CudaArchitecture.SM_80;

    /// <summary>
    /// Compiles <paramref name="kernel"/> (a static method; an explicitly grouped kernel unless
    /// <paramref name="implicitlyGrouped"/>, whose first parameter is then the index) to PTX with KernelSharp's
    /// intrinsics registered, at the optimization level KernelDevice uses (O2).
    /// </summary>
    public static string Compile(
        MethodInfo kernel,
        bool implicitlyGrouped = false,
        CudaArchitecture? architecture = null,
        OptimizationLevel optimization = OptimizationLevel.O2)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (!kernel.IsStatic)
            throw new ArgumentException($"kernel {kernel.DeclaringType?.Name}.{kernel.Name} must be static", nameof(kernel));
        CudaArchitecture target = architecture ?? DefaultArchitecture;
        // Algorithms on, as in KernelDevice: kernels may call MathF.Exp and friends (XMath intrinsics).
        using var context = Context.Create(builder => builder.EnableAlgorithms().Optimize(optimization));
        KernelSharpIntrinsics.Register(context);
        using var backend = new PTXBackend(
            context, new CudaCapabilityContext(target), target, InstructionSet, nvvmAPI: null);
        var entry = implicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization());
        return compiled.PTXAssembly;
    }

    /// <summary>The PTX ISA written in the header; 7.8 is accepted by every CUDA 12/13 driver and has all sm_80 instructions.</summary>
    private static readonly CudaInstructionSet InstructionSet = CudaInstructionSet.ISA_78;
}
