using System.Collections.Generic;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace KernelSharp.Generators.Emitting;

/// <summary>
/// Rewrites one statement of the kernel body for the CPU path: thread-geometry properties become the loop variables
/// of the group runner, per-thread locals become array elements, intrinsic calls go to their CPU body and
/// <c>return</c> ends only the current thread. Visits the original body nodes so site spans still match.
/// </summary>
internal sealed class CpuSiteRewriter : CSharpSyntaxRewriter
{
    /// <summary>Geometry property → (replacement, whether it is the same for every thread of the group).</summary>
    private static readonly Dictionary<string, (string Text, bool Uniform)> Geometry = new()
    {
        ["Group.IdxX"] = ("ks_t", false),
        ["Group.IdxY"] = ("0", true),
        ["Group.IdxZ"] = ("0", true),
        ["Group.LinearIndex"] = ("ks_t", false),
        ["Group.Index"] = ("new global::ILGPU.Index3D(ks_t, 0, 0)", false),
        ["Group.DimX"] = ("ks_groupDim", true),
        ["Group.DimY"] = ("1", true),
        ["Group.DimZ"] = ("1", true),
        ["Group.Dimension"] = ("new global::ILGPU.Index3D(ks_groupDim, 1, 1)", true),
        ["Group.IsFirstThread"] = ("(ks_t == 0)", false),
        ["Group.IsLastThread"] = ("(ks_t == ks_groupDim - 1)", false),
        ["Grid.IdxX"] = ("ks_groupIdxX", true),
        ["Grid.IdxY"] = ("ks_groupIdxY", true),
        ["Grid.IdxZ"] = ("0", true),
        ["Grid.Index"] = ("new global::ILGPU.Index3D(ks_groupIdxX, ks_groupIdxY, 0)", true),
        ["Grid.DimX"] = ("ks_gridDimX", true),
        ["Grid.DimY"] = ("ks_gridDimY", true),
        ["Grid.DimZ"] = ("1", true),
        ["Grid.Dimension"] = ("new global::ILGPU.Index3D(ks_gridDimX, ks_gridDimY, 1)", true),
        ["Grid.LinearIndex"] = ("(ks_groupIdxY * ks_gridDimX + ks_groupIdxX)", true),
        ["Grid.GlobalIndex"] = ("new global::ILGPU.Index3D(ks_groupIdxX * ks_groupDim + ks_t, ks_groupIdxY, 0)", false),
        ["Grid.GlobalLinearIndex"] = ("((ks_groupIdxY * ks_gridDimX + ks_groupIdxX) * ks_groupDim + ks_t)", false),
        ["Warp.WarpSize"] = ("32", true),
        ["Warp.LaneIdx"] = ("(ks_t & 31)", false),
        ["Warp.WarpIdx"] = ("(ks_t >> 5)", false),
        ["Warp.IsFirstLane"] = ("((ks_t & 31) == 0)", false),
        ["Warp.IsLastLane"] = ("((ks_t & 31) == 31)", false),
    };

    /// <summary>The CPU expression of a per-thread index (Group.IdxX → ks_t), or null for uniform or unknown geometry.</summary>
    public static string? ThreadGeometry(string text) =>
        Geometry.TryGetValue(text, out var replacement) && !replacement.Uniform && !replacement.Text.StartsWith("new ", System.StringComparison.Ordinal)
            ? replacement.Text : null;

    /// <summary>True for geometry that is the same for every thread of a group (Grid.IdxX, Group.DimX, ...).</summary>
    public static bool IsUniformGeometry(string text) => Geometry.TryGetValue(text, out var replacement) && replacement.Uniform;

    private readonly CpuPathPlan plan;
    private readonly bool groupLevel;
    private readonly int region;
    private readonly bool trackDone;

    public CpuSiteRewriter(CpuPathPlan plan, bool groupLevel, int region, bool trackDone)
    {
        this.plan = plan;
        this.groupLevel = groupLevel;
        this.region = region;
        this.trackDone = trackDone;
    }

    public string? Failure { get; private set; }

    /// <summary>True when a <c>return</c> was rewritten into a jump to the segment's end label.</summary>
    public bool UsedEndLabel { get; private set; }

    public static string EndLabel(int region) => "ks_threadEnd" + region.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string HoistedName(LocalModel local) => "ks_" + local.Name + "_" + local.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private string ThreadIndexer => groupLevel ? "[0]" : "[ks_t]";

    public override SyntaxNode? VisitIdentifierName(IdentifierNameSyntax node)
    {
        if (plan.SiteAt(node.SpanStart, node.Span.Length, SiteKind.ThreadIndex) is { } geometry)
            return ReplaceGeometry(node, geometry);
        if (plan.SiteAt(node.SpanStart, node.Span.Length, SiteKind.LocalReference) is { } reference)
        {
            if (plan.ThreadAliases.TryGetValue(reference.Number, out var alias))
            {
                if (groupLevel)
                {
                    Failure ??= $"'{node.Identifier.Text}' (a thread index) is used where the group runs as one (a loop header holding collectives)";
                    return node;
                }
                var expression = ParseExpression(alias);
                return (expression is IdentifierNameSyntax ? expression : ParenthesizedExpression(expression)).WithTriviaFrom(node);
            }
            if (plan.Hoisted.Contains(reference.Number))
                return ParseExpression(HoistedName(plan.Kernel.Locals[reference.Number]) + ThreadIndexer).WithTriviaFrom(node);
        }
        return base.VisitIdentifierName(node);
    }

    public override SyntaxNode? VisitMemberAccessExpression(MemberAccessExpressionSyntax node)
    {
        if (plan.SiteAt(node.SpanStart, node.Span.Length, SiteKind.ThreadIndex) is { } geometry)
            return ReplaceGeometry(node, geometry);
        return base.VisitMemberAccessExpression(node);
    }

    /// <summary><c>view[i]</c> → <c>view[ks_KIndex(view, i, "view")]</c>: checked in Debug builds, the index itself in Release.</summary>
    public override SyntaxNode? VisitElementAccessExpression(ElementAccessExpressionSyntax node)
    {
        var site = plan.SiteAt(node.SpanStart, node.Span.Length, SiteKind.ViewElementAccess);
        var visited = (ElementAccessExpressionSyntax)base.VisitElementAccessExpression(node)!;
        if (site is null)
            return visited;
        var argument = visited.ArgumentList.Arguments[0];
        string name = SymbolDisplay.FormatLiteral(site.Text, quote: true);
        var check = ParseExpression($"{BoundsCheckName(plan.Kernel)}({visited.Expression.WithoutTrivia()}, {argument.Expression.WithoutTrivia()}, {name})");
        return visited.WithArgumentList(visited.ArgumentList.WithArguments(
            SingletonSeparatedList(argument.WithExpression(check.WithTriviaFrom(argument.Expression)))));
    }

    /// <summary>The per-kernel index helper the CPU path calls for every view access (<see cref="CpuPathEmitter"/> writes it).</summary>
    public static string BoundsCheckName(KernelModel kernel) => "ks_" + kernel.Name + "Index";

    public override SyntaxNode? VisitInvocationExpression(InvocationExpressionSyntax node)
    {
        if (plan.SiteAt(node.Expression.SpanStart, node.Expression.Span.Length, SiteKind.IntrinsicCall) is { } intrinsic)
        {
            var arguments = (ArgumentListSyntax)Visit(node.ArgumentList)!;
            if (intrinsic.Text.StartsWith(".", System.StringComparison.Ordinal) && node.Expression is MemberAccessExpressionSyntax member)
            {
                // An instance intrinsic (a format's member): same receiver, its CPU member.
                var receiver = (ExpressionSyntax)Visit(member.Expression)!;
                return InvocationExpression(MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, receiver,
                    IdentifierName(intrinsic.Text.Substring(1))), arguments).WithTriviaFrom(node);
            }
            return InvocationExpression(ParseExpression(intrinsic.Text), arguments).WithTriviaFrom(node);
        }
        return base.VisitInvocationExpression(node);
    }

    public override SyntaxNode? VisitLocalDeclarationStatement(LocalDeclarationStatementSyntax node)
    {
        var hoisted = new List<(VariableDeclaratorSyntax Declarator, LocalModel Local)>();
        foreach (var variable in node.Declaration.Variables)
        {
            if (plan.SiteAt(variable.Identifier.SpanStart, variable.Identifier.Span.Length, SiteKind.LocalDeclarator) is { } site
                && plan.Hoisted.Contains(site.Number))
                hoisted.Add((variable, plan.Kernel.Locals[site.Number]));
        }
        if (hoisted.Count == 0)
            return base.VisitLocalDeclarationStatement(node);
        if (hoisted.Count != node.Declaration.Variables.Count)
        {
            Failure ??= $"declaration '{node.Declaration}' mixes locals that live across a collective with others: declare them separately";
            return node;
        }
        // The locals now live in per-thread arrays declared by the group runner: the declaration becomes assignments.
        var assignments = new List<StatementSyntax>();
        foreach (var (declarator, local) in hoisted)
        {
            if (declarator.Initializer == null)
                continue;
            var value = (ExpressionSyntax)Visit(declarator.Initializer.Value)!;
            assignments.Add(ExpressionStatement(AssignmentExpression(SyntaxKind.SimpleAssignmentExpression,
                ParseExpression(HoistedName(local) + ThreadIndexer), value)));
        }
        return assignments.Count == 1 ? assignments[0].WithTriviaFrom(node) : Block(assignments).WithTriviaFrom(node);
    }

    public override SyntaxNode? VisitReturnStatement(ReturnStatementSyntax node)
    {
        if (groupLevel)
        {
            Failure ??= "a return statement sits at group level";
            return node;
        }
        UsedEndLabel = true;
        var jump = ParseStatement($"goto {EndLabel(region)};");
        if (!trackDone)
            return jump.WithTriviaFrom(node);
        return Block(ParseStatement("ks_done[ks_t] = true;"), jump).WithTriviaFrom(node);
    }

    private SyntaxNode ReplaceGeometry(ExpressionSyntax node, BodySite site)
    {
        if (!Geometry.TryGetValue(site.Text, out var replacement))
        {
            Failure ??= $"'{site.Text}' has no CPU translation";
            return node;
        }
        if (groupLevel && !replacement.Uniform)
        {
            Failure ??= $"'{site.Text}' differs per thread but is used where the group runs as one (a loop header holding collectives, a shared-memory length)";
            return node;
        }
        var expression = ParseExpression(replacement.Text);
        if (expression is not (IdentifierNameSyntax or LiteralExpressionSyntax or ParenthesizedExpressionSyntax))
            expression = ParenthesizedExpression(expression);
        return expression.WithTriviaFrom(node);
    }
}
