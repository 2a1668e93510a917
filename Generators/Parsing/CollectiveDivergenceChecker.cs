using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelSharp.Generators.Diagnostics;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Parsing;

/// <summary>
/// Warns about a barrier or a group/warp collective that only part of its group (or warp) can reach: one inside a
/// condition that differs between threads, or after a <c>return</c>/<c>break</c>/<c>continue</c> that only some threads
/// take. On a GPU such a collective hangs (a barrier waits for threads that never arrive) or reads lanes that did not
/// contribute.
/// </summary>
/// <remarks>
/// "Differs between threads" is a forward taint: the thread's own index (<c>Group.IdxX</c>, <c>Warp.LaneIdx</c>, ...)
/// is varying; so is a collective whose result is per thread, a read of memory at a varying index, any expression using
/// a varying value, and a local assigned such a value or assigned inside a varying branch. Parameters, <c>Grid.IdxX</c>
/// (the group's index), dimensions and constants are uniform. For a warp collective, <c>Warp.WarpIdx</c> and the thread
/// index divided by a multiple of 32 are uniform too. The analysis is per kernel body; helpers are not followed.
/// </remarks>
internal sealed class CollectiveDivergenceChecker
{
    private static readonly HashSet<string> ThreadVaryingProperties = new()
    {
        "ILGPU.Group.IdxX", "ILGPU.Group.IdxY", "ILGPU.Group.IdxZ", "ILGPU.Group.Index", "ILGPU.Group.LinearIndex",
        "ILGPU.Warp.LaneIdx", "ILGPU.Grid.GlobalIndex", "ILGPU.Grid.GlobalLinearIndex", "KernelSharp.Dsl.KsWarp.LaneIdx",
    };

    private static readonly HashSet<string> WarpUniformProperties = new() { "ILGPU.Warp.WarpIdx" };

    private readonly SemanticModel semantic;
    private readonly BlockSyntax body;
    private readonly string kernelName;
    private readonly CancellationToken cancellation;
    private readonly HashSet<ILocalSymbol> varyingInGroup = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ILocalSymbol> varyingInWarp = new(SymbolEqualityComparer.Default);
    private HashSet<string>? assignedNames; // locals written after their declaration, found once per body

    private CollectiveDivergenceChecker(SemanticModel semantic, BlockSyntax body, string kernelName, CancellationToken cancellation)
    {
        this.semantic = semantic;
        this.body = body;
        this.kernelName = kernelName;
        this.cancellation = cancellation;
    }

    public static List<DiagnosticInfo> Check(SemanticModel semantic, BlockSyntax body, string kernelName, CancellationToken cancellation)
    {
        var checker = new CollectiveDivergenceChecker(semantic, body, kernelName, cancellation);
        var collectives = body.DescendantNodes().OfType<InvocationExpressionSyntax>()
            .Select(call => (call, scope: checker.CollectiveScope(call)))
            .Where(c => c.scope != null && !InNestedFunction(c.call))
            .ToList();
        var diagnostics = new List<DiagnosticInfo>();
        if (collectives.Count == 0)
            return diagnostics;
        checker.PropagateVarying(warpLevel: false);
        checker.PropagateVarying(warpLevel: true);
        foreach (var (call, scope) in collectives)
        {
            bool warp = scope == CollectiveScopeKind.Warp;
            string? reason = checker.DivergenceReason(call, warp);
            if (reason != null)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DivergentCollective, LocationInfo.From(call), kernelName,
                    Shorten(call.ToString()), reason, warp ? "warp" : "group"));
        }
        return diagnostics;
    }

    private enum CollectiveScopeKind { Group, Warp }

    /// <summary>Group or Warp for a barrier or collective call, null for anything else.</summary>
    private CollectiveScopeKind? CollectiveScope(InvocationExpressionSyntax call) =>
        semantic.GetSymbolInfo(call, cancellation).Symbol is IMethodSymbol method ? CollectiveScope(method, out _) : null;

    private static CollectiveScopeKind? CollectiveScope(IMethodSymbol method, out bool uniformResult)
    {
        var definition = method.ReducedFrom ?? method.OriginalDefinition;
        string owner = definition.ContainingType.ToDisplayString();
        uniformResult = true;
        var collective = definition.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "KernelSharp.Dsl.CollectiveAttribute");
        if (collective != null)
        {
            uniformResult = !collective.NamedArguments.Any(a => a.Key == "UniformResult" && a.Value.Value is false);
            return collective.ConstructorArguments.Length > 0 && collective.ConstructorArguments[0].Value is int s && s == 0
                ? CollectiveScopeKind.Warp : CollectiveScopeKind.Group;
        }
        switch (owner)
        {
            case "ILGPU.Group" when definition.Name.StartsWith("Barrier", System.StringComparison.Ordinal) || definition.Name == "Broadcast":
                return CollectiveScopeKind.Group;
            case "ILGPU.Warp" when definition.Name.StartsWith("Shuffle", System.StringComparison.Ordinal):
                uniformResult = false;
                return CollectiveScopeKind.Warp;
            case "ILGPU.Warp" when definition.Name is "Broadcast" or "Barrier":
                return CollectiveScopeKind.Warp;
            case "ILGPU.Algorithms.GroupExtensions":
                uniformResult = definition.Name.StartsWith("All", System.StringComparison.Ordinal);
                return CollectiveScopeKind.Group;
            case "ILGPU.Algorithms.WarpExtensions":
                uniformResult = definition.Name.StartsWith("All", System.StringComparison.Ordinal);
                return CollectiveScopeKind.Warp;
            default:
                return null;
        }
    }

    /// <summary>Grows the set of varying locals until no assignment adds one.</summary>
    private void PropagateVarying(bool warpLevel)
    {
        var varying = warpLevel ? varyingInWarp : varyingInGroup;
        var writes = new List<(ILocalSymbol local, SyntaxNode site, SyntaxNode? value)>();
        foreach (var node in body.DescendantNodes())
        {
            switch (node)
            {
                case VariableDeclaratorSyntax { Initializer: { } initializer } declarator
                    when semantic.GetDeclaredSymbol(declarator, cancellation) is ILocalSymbol local:
                    writes.Add((local, declarator, initializer.Value));
                    break;
                case AssignmentExpressionSyntax assignment when LocalOf(assignment.Left) is { } target:
                    writes.Add((target, assignment, assignment.Right));
                    break;
                case PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax when LocalOf(Operand(node)) is { } counter:
                    writes.Add((counter, node, null));
                    break;
                case ArgumentSyntax { RefKindKeyword.RawKind: not 0 } argument when LocalOf(argument.Expression) is { } written:
                    writes.Add((written, argument, argument.Parent?.Parent));
                    break;
                case ForEachStatementSyntax forEach when semantic.GetDeclaredSymbol(forEach, cancellation) is { } element:
                    writes.Add((element, forEach, forEach.Expression));
                    break;
            }
        }
        bool changed = true;
        while (changed)
        {
            cancellation.ThrowIfCancellationRequested();
            changed = false;
            foreach (var (local, site, value) in writes)
            {
                if (varying.Contains(local))
                    continue;
                if ((value != null && IsVarying(value, warpLevel)) || VaryingCondition(site, warpLevel) != null)
                {
                    varying.Add(local);
                    changed = true;
                }
            }
        }
    }

    private static ExpressionSyntax Operand(SyntaxNode node) =>
        node is PrefixUnaryExpressionSyntax prefix ? prefix.Operand : ((PostfixUnaryExpressionSyntax)node).Operand;

    private ILocalSymbol? LocalOf(ExpressionSyntax expression) =>
        expression is IdentifierNameSyntax ? semantic.GetSymbolInfo(expression, cancellation).Symbol as ILocalSymbol : null;

    /// <summary>Whether the value of <paramref name="expression"/> may differ between the threads of a group (or warp).</summary>
    private bool IsVarying(SyntaxNode expression, bool warpLevel)
    {
        foreach (var node in expression.DescendantNodesAndSelf(n => !IsWarpUniformDivision(n, warpLevel)))
        {
            if (IsWarpUniformDivision(node, warpLevel))
                continue;
            switch (node)
            {
                case IdentifierNameSyntax name:
                    var symbol = semantic.GetSymbolInfo(name, cancellation).Symbol;
                    if (symbol is ILocalSymbol local && (warpLevel ? varyingInWarp : varyingInGroup).Contains(local))
                        return true;
                    if (symbol is IPropertySymbol property && IsVaryingProperty(property, warpLevel))
                        return true;
                    break;
                case InvocationExpressionSyntax call when semantic.GetSymbolInfo(call, cancellation).Symbol is IMethodSymbol method:
                    if (CollectiveScope(method, out bool uniform) != null && !uniform)
                        return true;
                    break;
            }
        }
        return false;
    }

    private static bool IsVaryingProperty(IPropertySymbol property, bool warpLevel)
    {
        string name = property.ContainingType.ToDisplayString() + "." + property.Name;
        return ThreadVaryingProperties.Contains(name) || (!warpLevel && WarpUniformProperties.Contains(name));
    }

    /// <summary>For a warp collective, <c>Group.IdxX / 32</c> (or <c>&gt;&gt; 5</c>, or a multiple) is the same in every lane of a warp.</summary>
    private bool IsWarpUniformDivision(SyntaxNode node, bool warpLevel)
    {
        if (!warpLevel || node is not BinaryExpressionSyntax binary
            || !binary.IsKind(SyntaxKind.DivideExpression) && !binary.IsKind(SyntaxKind.RightShiftExpression))
            return false;
        var divisor = semantic.GetConstantValue(binary.Right, cancellation);
        if (!divisor.HasValue || divisor.Value is not int amount)
            return false;
        bool wholeWarps = binary.IsKind(SyntaxKind.DivideExpression) ? amount > 0 && amount % 32 == 0 : amount >= 5;
        return wholeWarps && IsThreadIndex(binary.Left, depth: 0);
    }

    private bool IsThreadIndex(ExpressionSyntax expression, int depth)
    {
        // Copies of copies are followed a few steps; the bound also stops on code that does not compile (int a = a;).
        if (depth > 4)
            return false;
        while (expression is ParenthesizedExpressionSyntax parenthesized)
            expression = parenthesized.Expression;
        var symbol = semantic.GetSymbolInfo(expression, cancellation).Symbol;
        if (symbol is IPropertySymbol { Name: "IdxX" } property && property.ContainingType.ToDisplayString() == "ILGPU.Group")
            return true;
        // A local that only ever holds the thread index (int thread = Group.IdxX;).
        if (symbol is ILocalSymbol local && local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellation) is VariableDeclaratorSyntax { Initializer: { } init }
            && !(assignedNames ??= Specialization.BodyConstants.AssignedNames(body)).Contains(local.Name))
            return IsThreadIndex(init.Value, depth + 1);
        return false;
    }

    /// <summary>Why only part of the scope reaches <paramref name="call"/>, or null when every thread does.</summary>
    private string? DivergenceReason(InvocationExpressionSyntax call, bool warpLevel)
    {
        string? condition = VaryingCondition(call, warpLevel);
        if (condition != null)
            return $"is inside {condition}, which is not the same for every thread of the {(warpLevel ? "warp" : "group")}";
        foreach (var exit in body.DescendantNodes().Where(n => n is ReturnStatementSyntax or BreakStatementSyntax or ContinueStatementSyntax))
        {
            if (InNestedFunction(exit) || VaryingCondition(exit, warpLevel) == null)
                continue;
            bool affects = exit is ReturnStatementSyntax
                ? exit.SpanStart < call.SpanStart || LoopsAround(exit).Any(loop => loop.Span.Contains(call.Span))
                : LoopsAround(exit).FirstOrDefault() is { } loop && loop.Span.Contains(call.Span);
            if (affects)
            {
                int line = exit.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                string keyword = exit.GetFirstToken().Text;
                return $"comes after '{keyword}' (line {line}), which only some threads of the {(warpLevel ? "warp" : "group")} take";
            }
        }
        return null;
    }

    private static IEnumerable<SyntaxNode> LoopsAround(SyntaxNode node) =>
        node.Ancestors().TakeWhile(a => a is not (LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax or MemberDeclarationSyntax))
            .Where(a => a is ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax or ForEachStatementSyntax);

    /// <summary>The first enclosing condition (as "'if (x &gt; 0)'") whose value may differ between threads, or null.</summary>
    private string? VaryingCondition(SyntaxNode node, bool warpLevel)
    {
        SyntaxNode child = node;
        foreach (var ancestor in node.Ancestors())
        {
            if (ancestor == body || ancestor is LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax)
                return null;
            ExpressionSyntax? condition = ancestor switch
            {
                IfStatementSyntax @if when child != @if.Condition => @if.Condition,
                ConditionalExpressionSyntax conditional when child != conditional.Condition => conditional.Condition,
                WhileStatementSyntax loop when child != loop.Condition => loop.Condition,
                DoStatementSyntax loop when child != loop.Condition => loop.Condition,
                ForStatementSyntax loop when loop.Condition != null && child != loop.Condition && !loop.Initializers.Contains(child)
                    && child != loop.Declaration => loop.Condition,
                SwitchStatementSyntax @switch when child != @switch.Expression => @switch.Expression,
                SwitchExpressionSyntax @switch when child != @switch.GoverningExpression => @switch.GoverningExpression,
                BinaryExpressionSyntax logical when child == logical.Right && (logical.IsKind(SyntaxKind.LogicalAndExpression)
                    || logical.IsKind(SyntaxKind.LogicalOrExpression) || logical.IsKind(SyntaxKind.CoalesceExpression)) => logical.Left,
                _ => null,
            };
            if (condition != null && IsVarying(condition, warpLevel))
                return ancestor switch
                {
                    IfStatementSyntax => $"'if ({Shorten(condition.ToString())})'",
                    WhileStatementSyntax or DoStatementSyntax => $"the loop 'while ({Shorten(condition.ToString())})'",
                    ForStatementSyntax => $"the loop 'for (...; {Shorten(condition.ToString())}; ...)'",
                    SwitchStatementSyntax or SwitchExpressionSyntax => $"'switch ({Shorten(condition.ToString())})'",
                    _ => $"a branch on '{Shorten(condition.ToString())}'",
                };
            child = ancestor;
        }
        return null;
    }

    private static bool InNestedFunction(SyntaxNode node) =>
        node.Ancestors().TakeWhile(a => a is not MethodDeclarationSyntax).Any(a => a is LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax);

    private static string Shorten(string text)
    {
        text = string.Join(" ", text.Split(new[] { ' ', '\r', '\n', '\t' }, System.StringSplitOptions.RemoveEmptyEntries));
        return text.Length <= 60 ? text : text.Substring(0, 57) + "...";
    }
}
