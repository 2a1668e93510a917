using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelSharp.Generators.Diagnostics;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace KernelSharp.Generators.Parsing;

/// <summary>
/// Finds what ILGPU's compiler would reject at run time, at build time: reference types (class instances, strings,
/// boxing, delegates, interface-typed values, arrays other than constant-length locals), exception handling, recursion,
/// virtual and interface calls that are not constrained generic calls, mutable static fields and <c>stackalloc</c>.
/// It walks the kernel body and every method of this compilation the body calls, and reports each problem on the
/// offending syntax (in the helper's own file when it is inside a helper).
/// </summary>
/// <remarks>
/// The rules follow what ILGPU 1.5 does with a kernel (measured: each form compiled alone on its CPU accelerator):
/// <c>throw</c>, <c>try</c>, strings, class instances, boxing, lambdas, interface-typed values, non-readonly static
/// fields, variable-length arrays and <c>stackalloc</c> fail to compile; constant-length local arrays, static readonly
/// fields, <c>Debug.Assert</c>, tuples and constrained calls through a struct type parameter compile. Recursion compiles
/// on the CPU accelerator but not for PTX ("recursive program" is unsupported there), so it is an error too.
/// </remarks>
internal sealed class GpuCodeChecker
{
    private readonly Compilation compilation;
    private readonly string kernelName;
    private readonly CancellationToken cancellation;
    private readonly List<DiagnosticInfo> diagnostics = new();
    private readonly HashSet<IMethodSymbol> visited = new(SymbolEqualityComparer.Default);
    private readonly List<IMethodSymbol> callStack = new();
    private readonly HashSet<(string, int)> reported = new();

    private GpuCodeChecker(Compilation compilation, string kernelName, CancellationToken cancellation)
    {
        this.compilation = compilation;
        this.kernelName = kernelName;
        this.cancellation = cancellation;
    }

    /// <summary>Checks <paramref name="kernel"/> (declared by <paramref name="syntax"/>) and everything it calls in this compilation.</summary>
    public static List<DiagnosticInfo> Check(IMethodSymbol kernel, MethodDeclarationSyntax syntax, SemanticModel semantic, CancellationToken cancellation)
    {
        var checker = new GpuCodeChecker(semantic.Compilation, kernel.Name, cancellation);
        checker.visited.Add(kernel.OriginalDefinition);
        checker.callStack.Add(kernel.OriginalDefinition);
        if (syntax.Body != null && semantic.GetOperation(syntax.Body, cancellation) is { } body)
            checker.Walk(body, kernel);
        return checker.diagnostics;
    }

    /// <summary>"Kernel 'K'" inside the kernel, "'Helper.F' (called by kernel 'K')" inside a helper.</summary>
    private string Where(IMethodSymbol method) =>
        callStack.Count <= 1 ? $"Kernel '{kernelName}'" : $"'{method.ContainingType.Name}.{method.Name}' (called by kernel '{kernelName}')";

    private void Report(DiagnosticDescriptor descriptor, SyntaxNode node, IMethodSymbol method, string what) =>
        Report(descriptor, node.GetLocation(), method, what);

    /// <summary>Reports at the statement's keyword, so a long try or using statement is not underlined whole.</summary>
    private void ReportAtKeyword(DiagnosticDescriptor descriptor, SyntaxNode node, IMethodSymbol method, string what) =>
        Report(descriptor, node.GetFirstToken().GetLocation(), method, what);

    private void Report(DiagnosticDescriptor descriptor, Location location, IMethodSymbol method, string what)
    {
        // One report per place: a helper called twice, or an expression nested in another reported one, says it once.
        if (!reported.Add((location.SourceTree?.FilePath ?? "", location.SourceSpan.Start)))
            return;
        diagnostics.Add(DiagnosticInfo.Create(descriptor, LocationInfo.From(location), Where(method), what));
    }

    private void Walk(IOperation root, IMethodSymbol method)
    {
        var pending = new Stack<IOperation>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            var operation = pending.Pop();
            // A problem found on an operation is reported once; its children would only repeat it.
            if (Inspect(operation, method))
                continue;
            foreach (var child in operation.ChildOperations.Reverse())
                pending.Push(child);
        }
    }

    /// <summary>Reports what is wrong with <paramref name="operation"/> itself; true when it was reported.</summary>
    private bool Inspect(IOperation operation, IMethodSymbol method)
    {
        var node = operation.Syntax;
        switch (operation)
        {
            case IThrowOperation:
                Report(DiagnosticDescriptors.ExceptionInKernel, node, method,
                    "throws an exception, and GPU code has no exceptions: check the condition on the host before the launch, or use Debug.Assert (checked on the CPU accelerator)");
                return true;
            case ITryOperation:
                ReportAtKeyword(DiagnosticDescriptors.ExceptionInKernel, node, method,
                    "uses try/catch/finally, and GPU code has no exception handling: remove it (check inputs on the host before the launch)");
                return true;
            case IUsingOperation or IUsingDeclarationOperation:
                ReportAtKeyword(DiagnosticDescriptors.ExceptionInKernel, node, method,
                    "uses 'using', which compiles to try/finally, and GPU code has no exception handling: remove it");
                return true;
            case ILockOperation:
                ReportAtKeyword(DiagnosticDescriptors.ExceptionInKernel, node, method,
                    "uses 'lock', which needs a heap object and try/finally: use Atomic operations on a view instead");
                return true;
            case IForEachLoopOperation forEach when CollectionType(forEach) is { IsRefLikeType: false } and not IArrayTypeSymbol:
                ReportAtKeyword(DiagnosticDescriptors.ReferenceTypeInKernel, node, method,
                    "uses 'foreach' over '" + Display(CollectionType(forEach)) + "', an enumerator on the heap: write an indexed 'for' loop");
                return true;
            case IAnonymousFunctionOperation or IDelegateCreationOperation:
                Report(DiagnosticDescriptors.ReferenceTypeInKernel, node, method,
                    "creates a delegate (lambda or method group), a heap object ILGPU cannot compile: call a static method, or pass a struct implementing an interface through a type parameter");
                return true;
            case IArrayCreationOperation array:
                return InspectArrayCreation(array, method);
            case IInvocationOperation invocation:
                if (InspectInvocation(invocation, method))
                    return true;
                break;
            case IFieldReferenceOperation { Field.IsStatic: true, Field.IsConst: false } field:
                if (!field.Field.IsReadOnly)
                {
                    Report(DiagnosticDescriptors.MutableStaticInKernel, node, method,
                        $"uses the static field '{field.Field.ContainingType.Name}.{field.Field.Name}', which is not readonly, and GPU threads cannot see host statics: make it 'const' or 'static readonly', or pass the value as a parameter");
                    return true;
                }
                if (field.Field.Type.IsReferenceType)
                {
                    Report(DiagnosticDescriptors.ReferenceTypeInKernel, node, method,
                        $"reads the static field '{field.Field.ContainingType.Name}.{field.Field.Name}' of type '{Display(field.Field.Type)}', a reference type: pass the data as an ArrayView parameter");
                    return true;
                }
                return false;
            case IConversionOperation { Type: { IsReferenceType: true } target, Operand.Type: { IsValueType: true } source }:
                Report(DiagnosticDescriptors.ReferenceTypeInKernel, node, method,
                    $"converts '{Display(source)}' to '{Display(target)}' (boxing), which needs the heap: keep the value in its own type, and call interface methods through a constrained type parameter");
                return true;
            case ILiteralOperation { Type.SpecialType: SpecialType.System_String }:
                Report(DiagnosticDescriptors.ReferenceTypeInKernel, node, method, "uses a string, a reference type: GPU code has no strings");
                return true;
        }
        if (node is StackAllocArrayCreationExpressionSyntax)
        {
            Report(DiagnosticDescriptors.ReferenceTypeInKernel, node, method,
                "uses stackalloc, which ILGPU cannot compile: use a constant-length local array (new float[4]) or SharedMemory.Allocate");
            return true;
        }
        if (operation.Type is { } type && IsReferenceValue(operation, type))
        {
            Report(DiagnosticDescriptors.ReferenceTypeInKernel, node, method,
                $"uses a value of type '{Display(type)}', a reference type, and GPU code has no garbage-collected heap: use structs, ArrayView parameters or SharedMemory");
            return true;
        }
        return false;
    }

    /// <summary>A reference-typed value worth reporting: not a constant-length local array (ILGPU turns those into local memory).</summary>
    private static bool IsReferenceValue(IOperation operation, ITypeSymbol type)
    {
        if (!type.IsReferenceType || type.TypeKind == TypeKind.Error)
            return false;
        if (type is IArrayTypeSymbol { Rank: 1, ElementType.IsUnmanagedType: true })
            return operation is IInvocationOperation or IPropertyReferenceOperation;
        return operation is not (IConversionOperation { IsImplicit: true } or IInstanceReferenceOperation or ITypeOfOperation { IsImplicit: true });
    }

    private bool InspectArrayCreation(IArrayCreationOperation array, IMethodSymbol method)
    {
        var element = ((IArrayTypeSymbol)array.Type!).ElementType;
        if (array.DimensionSizes.Length != 1 || !element.IsUnmanagedType)
        {
            Report(DiagnosticDescriptors.ReferenceTypeInKernel, array.Syntax, method,
                $"creates an array of '{Display(element)}' that ILGPU cannot place in local memory (only one-dimensional arrays of unmanaged elements): use SharedMemory.Allocate or an ArrayView parameter");
            return true;
        }
        if (!array.DimensionSizes[0].ConstantValue.HasValue)
        {
            Report(DiagnosticDescriptors.ReferenceTypeInKernel, array.Syntax, method,
                $"creates an array whose length '{array.DimensionSizes[0].Syntax}' is not a compile-time constant, and GPU code has no heap: use a literal, a const, or a [Constant] parameter through SharedMemory.Allocate");
            return true;
        }
        return false;
    }

    private bool InspectInvocation(IInvocationOperation invocation, IMethodSymbol method)
    {
        var target = invocation.TargetMethod;
        var receiverType = invocation.Instance?.Type;
        if (IsTrustedApi(target))
        {
            // ILGPU's own intrinsics (Interop.WriteLine's params object[], assertions' messages) take reference types
            // ILGPU knows how to lower: only the value-typed arguments are user code worth walking.
            if (invocation.Instance != null)
                Walk(invocation.Instance, method);
            foreach (var argument in invocation.Arguments.Where(a => a.Parameter?.Type.IsValueType == true))
                Walk(argument.Value, method);
            return true;
        }
        if (invocation.IsVirtual && receiverType is { TypeKind: not TypeKind.TypeParameter } && !receiverType.IsValueType)
        {
            string why = receiverType.TypeKind == TypeKind.Interface
                ? $"calls '{target.Name}' through the interface '{Display(receiverType)}', a virtual call on a heap object ILGPU cannot compile: make the method generic over 'T : struct, {receiverType.Name}' and call it on a T"
                : $"calls the virtual method '{target.ContainingType.Name}.{target.Name}' on '{Display(receiverType)}', a heap object ILGPU cannot compile: call it on a struct, or through a type parameter constrained to an interface";
            Report(DiagnosticDescriptors.VirtualCallInKernel, invocation.Syntax, method, why);
            return true;
        }
        if (receiverType is { IsValueType: true } && target.ContainingType.SpecialType is SpecialType.System_Object or SpecialType.System_ValueType or SpecialType.System_Enum)
        {
            Report(DiagnosticDescriptors.VirtualCallInKernel, invocation.Syntax, method,
                $"calls '{target.Name}' of '{Display(target.ContainingType)}' on a '{Display(receiverType)}', which boxes it: override the method in the struct or compute the value directly");
            return true;
        }
        FollowCall(invocation, target.ReducedFrom ?? target, method);
        return false;
    }

    /// <summary>Walks a callee declared in this compilation (once per kernel); a callee already on the call stack is recursion.</summary>
    private void FollowCall(IInvocationOperation invocation, IMethodSymbol callee, IMethodSymbol caller)
    {
        var definition = callee.OriginalDefinition;
        int onStack = callStack.FindIndex(m => SymbolEqualityComparer.Default.Equals(m, definition));
        if (onStack >= 0)
        {
            string cycle = string.Join(" → ", callStack.Skip(onStack).Concat(new[] { definition }).Select(m => m.Name));
            Report(DiagnosticDescriptors.RecursionInKernel, invocation.Syntax, caller,
                $"calls '{definition.Name}' recursively ({cycle}), and PTX cannot compile a recursive program: rewrite it as a loop");
            return;
        }
        if (!visited.Add(definition) || IsMarkedForGpu(definition) || definition.DeclaringSyntaxReferences.Length == 0)
            return;
        foreach (var reference in definition.DeclaringSyntaxReferences)
        {
            var declaration = reference.GetSyntax(cancellation);
            SyntaxNode? bodyNode = declaration switch
            {
                BaseMethodDeclarationSyntax m => (SyntaxNode?)m.Body ?? m.ExpressionBody,
                LocalFunctionStatementSyntax f => (SyntaxNode?)f.Body ?? f.ExpressionBody,
                AccessorDeclarationSyntax a => (SyntaxNode?)a.Body ?? a.ExpressionBody,
                ArrowExpressionClauseSyntax arrow => arrow,
                _ => null,
            };
            if (bodyNode is null || !compilation.ContainsSyntaxTree(declaration.SyntaxTree))
                continue;
            var model = compilation.GetSemanticModel(declaration.SyntaxTree);
            if (model.GetOperation(bodyNode, cancellation) is not { } body)
                continue;
            callStack.Add(definition);
            Walk(body, definition);
            callStack.RemoveAt(callStack.Count - 1);
        }
    }

    /// <summary>[Intrinsic] and [Collective] methods have GPU bodies the generator knows about (and CPU bodies that may use the heap).</summary>
    private static bool IsMarkedForGpu(IMethodSymbol method) =>
        method.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() is "KernelSharp.Dsl.IntrinsicAttribute" or "KernelSharp.Dsl.CollectiveAttribute");

    /// <summary>ILGPU's API and assertions: their string and params-object arguments are lowered by ILGPU itself.</summary>
    private static bool IsTrustedApi(IMethodSymbol method)
    {
        string owner = method.ContainingType.ToDisplayString();
        return owner is "System.Diagnostics.Debug" or "System.Diagnostics.Trace" || owner.StartsWith("ILGPU.", System.StringComparison.Ordinal);
    }

    private static ITypeSymbol? CollectionType(IForEachLoopOperation forEach) =>
        forEach.Collection is IConversionOperation { IsImplicit: true } conversion ? conversion.Operand.Type : forEach.Collection.Type;

    private static string Display(ITypeSymbol? type) => type?.ToDisplayString() ?? "?";
}
