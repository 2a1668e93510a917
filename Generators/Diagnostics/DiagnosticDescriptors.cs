using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace KernelSharp.Generators.Diagnostics;

/// <summary>Every diagnostic of the KernelSharp generator. Ids are stable: never renumber, only append.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "KernelSharp";

    public static readonly DiagnosticDescriptor KernelNotStatic = new(
        "KS0001", "Kernel method must be static and return void",
        "Kernel '{0}' {1}: make it 'public static void {0}(...)' (ILGPU kernels are static void methods)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TypeNotPartial = new(
        "KS0002", "Type containing a kernel must be partial",
        "Type '{0}' contains kernel '{1}' but is not partial (or is generic): declare it 'static partial class {0}' so the generator can add the variants and launcher",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedParameter = new(
        "KS0003", "Unsupported kernel parameter",
        "Parameter '{0}' of kernel '{1}' has type '{2}': {3}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidConstantValue = new(
        "KS0004", "Invalid constant value",
        "Kernel '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor SharedMemoryTooLarge = new(
        "KS0005", "Shared memory too large",
        "Variant '{0}' allocates {1} bytes of shared memory: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TooManyVariants = new(
        "KS0006", "Too many variants",
        "Kernel '{0}' has {1} variants (constant values × shape values), over the limit of {2}: list fewer [Constant]/[Shape] values",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnrolledLoopTooLarge = new(
        "KS0007", "Unrolled loop too large",
        "Variant '{0}': this loop unrolls to {1} statements, over the limit of {2}: lower [Kernel(MaxUnroll = ...)] (now {3}) or make the trip count depend on a run-time value",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoVariantForShape = new(
        "KS0008", "No variant can serve a shape",
        "Kernel '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor CpuPathUnavailable = new(
        "KS0009", "No fast CPU path for this kernel",
        "Kernel '{0}' has no fast CPU path, so FastCpu runs it on the ILGPU CPU accelerator (much slower) because {1}: follow the CPU path rules in the generator's README to get the fast path",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor SharedMemoryNotConstant = new(
        "KS0010", "Shared memory length is not a compile-time constant",
        "Variant '{0}': the length '{1}' of SharedMemory.Allocate does not fold to a constant: use a [Constant] parameter, a [Shape] value or a literal",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidLaunchExpression = new(
        "KS0011", "Invalid launch geometry",
        "Kernel '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    // KS0012-KS0016: what ILGPU's compiler would reject at run time, found in the kernel body and the helpers it calls.
    // {0} says where ("Kernel 'K'" or "'Helper.F' (called by kernel 'K')"), {1} what and how to fix it.

    public static readonly DiagnosticDescriptor ReferenceTypeInKernel = new(
        "KS0012", "Reference type in kernel code",
        "{0}: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ExceptionInKernel = new(
        "KS0013", "Exception handling in kernel code",
        "{0}: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor RecursionInKernel = new(
        "KS0014", "Recursion in kernel code",
        "{0}: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor VirtualCallInKernel = new(
        "KS0015", "Virtual or interface call in kernel code",
        "{0}: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MutableStaticInKernel = new(
        "KS0016", "Mutable static field in kernel code",
        "{0}: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DivergentCollective = new(
        "KS0017", "Collective reached by only part of a group",
        "Kernel '{0}': '{1}' {2}: every thread of the {3} must reach it, or the GPU hangs or reads undefined values; move it out of the condition (compute a neutral value such as 0 in the threads that skip the work)",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TypeParameterNotStruct = new(
        "KS0018", "Kernel type parameter is not constrained to a struct",
        "Type parameter '{0}' of kernel '{1}' {2}: declare 'where {0} : struct, IYourInterface' and call the interface's methods on a {0} value (ILGPU compiles a kernel per struct type argument; interface or class type arguments cannot run on a GPU)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HostGroupNotFound = new(
        "KS0019", "Host form of a kernel not found",
        "Kernel '{0}' names HostGroup '{1}', but {2}: declare 'static void {1}(<the kernel's parameters in order>, int groupX, int groupY)' in the kernel's class (the CPU path calls it once per group)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HostGroupSpanInvalid = new(
        "KS0020", "Host group span without a host form or below 1",
        "Kernel '{0}' sets {1} = {2}, but {3}: a span is how many groups one call of the HostGroup form computes, a whole number of at least 1, and needs HostGroup",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
    {
        KernelNotStatic, TypeNotPartial, UnsupportedParameter, InvalidConstantValue, SharedMemoryTooLarge, TooManyVariants,
        UnrolledLoopTooLarge, NoVariantForShape, CpuPathUnavailable, SharedMemoryNotConstant, InvalidLaunchExpression,
        ReferenceTypeInKernel, ExceptionInKernel, RecursionInKernel, VirtualCallInKernel, MutableStaticInKernel, DivergentCollective,
        TypeParameterNotStruct, HostGroupNotFound, HostGroupSpanInvalid,
    };

    public static DiagnosticDescriptor ById(string id) => All.First(d => d.Id == id);
}
