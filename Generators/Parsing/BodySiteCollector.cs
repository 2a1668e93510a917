using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Parsing;

/// <summary>
/// Walks a kernel body with its semantic model and records, as <see cref="BodySite"/> spans, what the emitters must
/// treat specially: locals and their references, thread-geometry properties, collectives, intrinsics with a CPU body,
/// shared-memory allocations and constructs the CPU path cannot translate.
/// </summary>
internal sealed class BodySiteCollector
{
    private const string CollectiveAttributeName = "KernelSharp.Dsl.CollectiveAttribute";
    private const string IntrinsicAttributeName = "KernelSharp.Dsl.IntrinsicAttribute";
    private static readonly HashSet<string> GeometryTypes = new() { "ILGPU.Grid", "ILGPU.Group", "ILGPU.Warp" };

    private readonly SemanticModel semantic;
    private readonly BlockSyntax body;
    private readonly CancellationToken cancellation;
    private readonly Dictionary<ISymbol, int> localIds = new(SymbolEqualityComparer.Default);
    private readonly HashSet<string> viewsRead = new();
    private readonly HashSet<string> viewsWritten = new();

    public BodySiteCollector(SemanticModel semantic, BlockSyntax body, CancellationToken cancellation)
    {
        this.semantic = semantic;
        this.body = body;
        this.cancellation = cancellation;
    }

    public List<BodySite> Sites { get; } = new();

    public List<LocalModel> Locals { get; } = new();

    /// <summary>Integer <c>const</c> fields the body names (<c>MlaTile.KeysPerTile</c>), so folding and unrolling can use them.</summary>
    public List<NamedConstant> NamedConstants { get; } = new();

    private static bool IsInteger(object value) => value is int or long or short or ushort or byte or sbyte or uint;

    /// <summary>The first reason found why the CPU path cannot be generated (null when none).</summary>
    public string? CpuBlocker { get; private set; }

    public IReadOnlyCollection<string> ViewsRead => viewsRead;

    public IReadOnlyCollection<string> ViewsWritten => viewsWritten;

    public void Collect()
    {
        foreach (var node in body.DescendantNodes())
        {
            cancellation.ThrowIfCancellationRequested();
            switch (node)
            {
                case ForStatementSyntax loop:
                    Add(loop.ForKeyword.Span.Start, loop.ForKeyword.Span.Length, SiteKind.ForLoop, "", "", 0, false);
                    break;
                case VariableDeclaratorSyntax declarator:
                    DeclareLocal(declarator, declarator.Identifier, canHoist: true);
                    break;
                case SingleVariableDesignationSyntax designation:
                    DeclareLocal(designation, designation.Identifier, canHoist: false);
                    break;
                case ForEachStatementSyntax forEach:
                    DeclareLocal(forEach, forEach.Identifier, canHoist: false);
                    break;
                case IdentifierNameSyntax identifier:
                    VisitIdentifier(identifier);
                    break;
                case InvocationExpressionSyntax invocation:
                    VisitInvocation(invocation);
                    break;
                case ElementAccessExpressionSyntax { ArgumentList.Arguments.Count: 1 } access
                    when semantic.GetTypeInfo(access.Expression, cancellation).Type is { } viewType && KernelParserViews.IsView(viewType):
                    Add(access.SpanStart, access.Span.Length, SiteKind.ViewElementAccess, access.Expression.ToString(), "", 0, false);
                    break;
                case LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax:
                    Block(node, "it declares a local function or lambda");
                    break;
            }
        }
        Sites.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Length.CompareTo(a.Length));
    }

    private void Add(int absoluteStart, int length, SiteKind kind, string text, string extra, int number, bool flag) =>
        Sites.Add(new BodySite(absoluteStart - body.SpanStart, length, kind, text, extra, number, flag));

    private void Block(SyntaxNode node, string reason)
    {
        Add(node.SpanStart, node.Span.Length, SiteKind.CpuUnsupported, reason, "", 0, false);
        if (CpuBlocker == null)
        {
            int line = node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
            CpuBlocker = $"{reason} (line {line})";
        }
    }

    private void DeclareLocal(SyntaxNode node, SyntaxToken identifier, bool canHoist)
    {
        if (semantic.GetDeclaredSymbol(node, cancellation) is not ILocalSymbol local)
            return;
        int id = Locals.Count;
        localIds[local] = id;
        bool cannotHoist = !canHoist || local.IsRef || local.Type.IsRefLikeType || local.IsUsing;
        Locals.Add(new LocalModel(id, local.Name, local.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), local.IsConst, cannotHoist,
            identifier.SpanStart - body.SpanStart));
        Add(identifier.SpanStart, identifier.Span.Length, SiteKind.LocalDeclarator, local.Name, "", id, false);
    }

    private void VisitIdentifier(IdentifierNameSyntax identifier)
    {
        var symbol = semantic.GetSymbolInfo(identifier, cancellation).Symbol;
        switch (symbol)
        {
            case ILocalSymbol local when localIds.TryGetValue(local, out int id):
                Add(identifier.SpanStart, identifier.Span.Length, SiteKind.LocalReference, local.Name, "", id, false);
                break;
            case IParameterSymbol parameter when KernelParserViews.IsView(parameter.Type):
                ClassifyViewUse(identifier, parameter.Name);
                break;
            case IFieldSymbol { IsConst: true, ConstantValue: { } constant } when IsInteger(constant):
                SyntaxNode constantNode = identifier.Parent is MemberAccessExpressionSyntax constantAccess && constantAccess.Name == identifier ? constantAccess : identifier;
                NamedConstants.Add(new NamedConstant(constantNode.ToString(), System.Convert.ToInt64(constant, System.Globalization.CultureInfo.InvariantCulture)));
                break;
            case IPropertySymbol property:
                string owner = property.ContainingType.ToDisplayString();
                SyntaxNode target = identifier.Parent is MemberAccessExpressionSyntax access && access.Name == identifier ? access : identifier;
                if (GeometryTypes.Contains(owner))
                    Add(target.SpanStart, target.Span.Length, SiteKind.ThreadIndex, property.ContainingType.Name + "." + property.Name, "", 0, false);
                else if (owner == "KernelSharp.Dsl.KsWarp" && property.Name == "LaneIdx")
                    Add(target.SpanStart, target.Span.Length, SiteKind.ThreadIndex, "Warp.LaneIdx", "", 0, false);
                break;
        }
    }

    /// <summary>Read/write use of a view parameter; anything but indexing (passing it on, SubView) counts as both.</summary>
    private void ClassifyViewUse(IdentifierNameSyntax identifier, string name)
    {
        if (identifier.Parent is ElementAccessExpressionSyntax element && element.Expression == identifier)
        {
            SyntaxNode use = element;
            while (use.Parent is ParenthesizedExpressionSyntax)
                use = use.Parent;
            switch (use.Parent)
            {
                case AssignmentExpressionSyntax assignment when assignment.Left == use:
                    viewsWritten.Add(name);
                    if (!assignment.IsKind(SyntaxKind.SimpleAssignmentExpression))
                        viewsRead.Add(name);
                    return;
                case PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax:
                case RefExpressionSyntax:
                case ArgumentSyntax { RefKindKeyword.RawKind: not 0 }:
                    viewsWritten.Add(name);
                    viewsRead.Add(name);
                    return;
                default:
                    viewsRead.Add(name);
                    return;
            }
        }
        viewsWritten.Add(name);
        viewsRead.Add(name);
    }

    private void VisitInvocation(InvocationExpressionSyntax invocation)
    {
        if (semantic.GetSymbolInfo(invocation, cancellation).Symbol is not IMethodSymbol method)
            return;
        var definition = method.ReducedFrom ?? method.OriginalDefinition;
        string owner = definition.ContainingType.ToDisplayString();
        var attributes = definition.GetAttributes();
        var collective = attributes.FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == CollectiveAttributeName);
        var intrinsic = attributes.FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == IntrinsicAttributeName);
        string ownerType = definition.ContainingType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

        if (owner == "ILGPU.Group" && method.Name == "Barrier")
        {
            Add(invocation.SpanStart, invocation.Span.Length, SiteKind.Collective, "", "Group||void", 0, true);
            return;
        }
        if (collective != null)
        {
            string scope = collective.ConstructorArguments.Length > 0 && collective.ConstructorArguments[0].Value is int s && s == 0 ? "Warp" : "Group";
            string? combine = collective.NamedArguments.Where(a => a.Key == "CpuCombine").Select(a => a.Value.Value as string).FirstOrDefault();
            bool uniform = !collective.NamedArguments.Any(a => a.Key == "UniformResult" && a.Value.Value is false);
            int argumentCount = invocation.ArgumentList.Arguments.Count;
            string argumentType = definition.Parameters.Length == 1 ? definition.Parameters[0].Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) : "";
            string resultType = definition.ReturnsVoid ? "void" : definition.ReturnType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            Add(invocation.SpanStart, invocation.Span.Length, SiteKind.Collective,
                combine == null ? "" : ownerType + "." + combine, scope + "|" + argumentType + "|" + resultType, argumentCount, uniform);
            if (argumentCount > 1 || (argumentCount == 1 && combine == null))
                Block(invocation, $"collective '{method.Name}' has {argumentCount} arguments and {(combine == null ? "no" : "a")} CpuCombine (one argument and a CpuCombine are needed)");
            return;
        }
        if (intrinsic != null)
        {
            string? cpuBody = intrinsic.NamedArguments.Where(a => a.Key == "CpuBody").Select(a => a.Value.Value as string).FirstOrDefault();
            if (!definition.IsStatic)
            {
                // A format interface's member called through the kernel's type parameter (weights.RowDot(...)): the CPU
                // path calls the named sibling member on the same receiver, so each format brings its own host body.
                if (cpuBody != null && DeclaresInstanceCpuBody(definition, cpuBody) && invocation.Expression is MemberAccessExpressionSyntax)
                    Add(invocation.Expression.SpanStart, invocation.Expression.Span.Length, SiteKind.IntrinsicCall, "." + cpuBody, "", 0, false);
                return;
            }
            var bodyOwner = cpuBody == null ? null : FindCpuBodyOwner(definition, cpuBody);
            // Without a CPU body the GPU body (a plain loop) is called: slower, still correct.
            if (bodyOwner != null)
                Add(invocation.Expression.SpanStart, invocation.Expression.Span.Length, SiteKind.IntrinsicCall,
                    bodyOwner.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + "." + cpuBody, "", 0, false);
            return;
        }
        if (IsSharedAllocate(invocation, out var element))
        {
            string length = invocation.ArgumentList.Arguments.Count == 1 ? invocation.ArgumentList.Arguments[0].Expression.ToString() : "1";
            Add(invocation.SpanStart, invocation.Span.Length, SiteKind.SharedAllocation,
                element!.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), length, SizeOf(element!), false);
            if (invocation.ArgumentList.Arguments.Count == 0)
                Block(invocation, "SharedMemory.Allocate<T>() (a single shared element) has no CPU translation");
            return;
        }
        if (owner == "ILGPU.SharedMemory" || GeometryTypes.Contains(owner) || owner.StartsWith("ILGPU.Runtime.Cuda", System.StringComparison.Ordinal)
            || owner == "ILGPU.Interop" && method.Name != "SizeOf")
        {
            Block(invocation, $"'{definition.ContainingType.Name}.{method.Name}' has no CPU translation");
            return;
        }
        if (UsesGpuOnlyApi(definition, depth: 0))
            Block(invocation, $"'{method.Name}' uses ILGPU thread indices or shared memory and is not marked [Intrinsic(CpuBody = ...)]");
    }

    /// <summary>Whether the intrinsic's own type (a format interface) declares an instance CPU body with the same parameters.</summary>
    private static bool DeclaresInstanceCpuBody(IMethodSymbol intrinsic, string cpuBody) =>
        intrinsic.ContainingType.GetMembers(cpuBody).OfType<IMethodSymbol>()
            .Any(m => !m.IsStatic && m.Parameters.Length == intrinsic.Parameters.Length);

    /// <summary>The type declaring the CPU body: the intrinsic's own class, else its companion <c>XxxCpu</c> class.</summary>
    private static INamedTypeSymbol? FindCpuBodyOwner(IMethodSymbol intrinsic, string cpuBody)
    {
        bool Declares(INamedTypeSymbol? type) =>
            type != null && type.GetMembers(cpuBody).OfType<IMethodSymbol>().Any(m => m.IsStatic && m.Parameters.Length == intrinsic.Parameters.Length);
        var owner = intrinsic.ContainingType;
        if (Declares(owner))
            return owner;
        var companion = owner.ContainingNamespace.GetTypeMembers(owner.Name + "Cpu").FirstOrDefault();
        return Declares(companion) ? companion : null;
    }

    /// <summary>A helper method from this compilation that reads Grid/Group/Warp or shared memory cannot run on host threads.</summary>
    private bool UsesGpuOnlyApi(IMethodSymbol method, int depth)
    {
        if (depth > 2 || method.DeclaringSyntaxReferences.Length == 0)
            return false;
        foreach (var reference in method.DeclaringSyntaxReferences)
        {
            var node = reference.GetSyntax(cancellation);
            var model = node.SyntaxTree == semantic.SyntaxTree ? semantic : semantic.Compilation.GetSemanticModel(node.SyntaxTree);
            foreach (var name in node.DescendantNodes().OfType<IdentifierNameSyntax>())
            {
                // ILGPU's thread geometry and KernelSharp's collectives only mean something inside a running kernel.
                if (name.Identifier.Text is not ("Grid" or "Group" or "Warp" or "SharedMemory" or "KsWarp" or "KsGroup" or "TensorCore"))
                    continue;
                if (model.GetSymbolInfo(name, cancellation).Symbol is INamedTypeSymbol type
                    && type.ContainingNamespace.ToDisplayString() is "ILGPU" or "KernelSharp.Dsl")
                    return true;
            }
            // Helpers called by this helper (one level per depth step).
            foreach (var call in node.DescendantNodes().OfType<InvocationExpressionSyntax>())
            {
                if (model.GetSymbolInfo(call, cancellation).Symbol is IMethodSymbol callee && !callee.Equals(method, SymbolEqualityComparer.Default)
                    && callee.GetAttributes().Length == 0 && UsesGpuOnlyApi(callee, depth + 1))
                    return true;
            }
        }
        return false;
    }

    private bool IsSharedAllocate(InvocationExpressionSyntax invocation, out ITypeSymbol? element)
    {
        element = null;
        if (semantic.GetSymbolInfo(invocation, cancellation).Symbol is IMethodSymbol { Name: "Allocate", TypeArguments.Length: 1 } method
            && method.ContainingType.ToDisplayString() == "ILGPU.SharedMemory"
            && invocation.ArgumentList.Arguments.Count <= 1)
        {
            element = method.TypeArguments[0];
            return true;
        }
        return false;
    }

    /// <summary>sizeof for the element types kernels use; a struct is the sum of its fields (no padding assumed); 0 when unknown.</summary>
    private static int SizeOf(ITypeSymbol type)
    {
        switch (type.SpecialType)
        {
            case SpecialType.System_Byte or SpecialType.System_SByte or SpecialType.System_Boolean: return 1;
            case SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Char: return 2;
            case SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Single: return 4;
            case SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Double: return 8;
        }
        if (type.Name == "Half" && type.ContainingNamespace.ToDisplayString() is "System" or "ILGPU")
            return 2;
        if (type.TypeKind != TypeKind.Struct)
            return 0;
        int total = 0;
        foreach (var field in type.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic))
        {
            int size = SizeOf(field.Type);
            if (size == 0)
                return 0;
            total += size;
        }
        return total;
    }
}

internal static class KernelParserViews
{
    public static bool IsView(ITypeSymbol type) =>
        type is INamedTypeSymbol { Name: "ArrayView", TypeArguments.Length: 1 } named && named.ContainingNamespace.ToDisplayString() == "ILGPU";
}
