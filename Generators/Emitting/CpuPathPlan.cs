using System.Collections.Generic;
using System.Linq;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Emitting;

/// <summary>
/// Loop fission of a kernel body at its collectives, for the CPU path. The body becomes a list of items run by one
/// host thread per group: thread segments (run for every thread of the group in turn), collectives between them,
/// group-uniform <c>for</c> loops holding more items, and group-level declarations (constants, shared arrays).
/// Every place gets a region: 0 is group level, each thread segment has its own. A local used in more than one region
/// lives across a split and becomes a per-thread array.
/// </summary>
internal sealed class CpuPathPlan
{
    public const int GroupRegion = 0;

    private readonly List<BodySite> sites;
    private readonly HashSet<string> assignedNames;
    private readonly HashSet<int> uniformLocals = new();
    private int nextRegion = 1;
    private int nextCollective;

    private CpuPathPlan(KernelModel kernel, BlockSyntax body)
    {
        Kernel = kernel;
        Body = body;
        sites = kernel.Sites.ToList();
        assignedNames = Specialization.BodyConstants.AssignedNames(body);
    }

    public KernelModel Kernel { get; }

    public BlockSyntax Body { get; }

    public List<CpuItem> Items { get; private set; } = new();

    /// <summary>Group-level declarations (constants, shared arrays), emitted first.</summary>
    public List<CpuGroupStatement> Prelude { get; } = new();

    public List<CpuCollective> Collectives { get; } = new();

    /// <summary>Local id → regions where it is declared or referenced.</summary>
    public Dictionary<int, HashSet<int>> LocalRegions { get; } = new();

    /// <summary>Local id → the region of its declaration.</summary>
    public Dictionary<int, int> DeclarationRegion { get; } = new();

    public HashSet<int> Hoisted { get; } = new();

    /// <summary>Locals that only copy a per-thread index (local id → its CPU expression, e.g. <c>ks_t</c>).</summary>
    public Dictionary<int, string> ThreadAliases { get; } = new();

    public string? Failure { get; private set; }

    public bool HasReturns { get; private set; }

    public static CpuPathPlan Build(KernelModel kernel)
    {
        var body = (BlockSyntax)SyntaxFactory.ParseStatement(kernel.BodyText);
        var plan = new CpuPathPlan(kernel, body);
        plan.Items = plan.Segment(body.Statements, topLevel: true);
        if (plan.Failure == null)
            plan.FindHoisted();
        plan.HasReturns = body.DescendantNodes().OfType<ReturnStatementSyntax>().Any();
        return plan;
    }

    public IEnumerable<BodySite> SitesWithin(TextSpanLike span, SiteKind kind) =>
        sites.Where(s => s.Kind == kind && s.Start >= span.Start && s.Start + s.Length <= span.End);

    public BodySite? SiteAt(int start, int length, SiteKind kind) =>
        sites.FirstOrDefault(s => s.Kind == kind && s.Start == start && s.Length == length);

    private void Fail(SyntaxNode node, string reason)
    {
        if (Failure != null)
            return;
        int line = Kernel.BodyText.Substring(0, node.SpanStart).Count(c => c == '\n');
        int absoluteLine = (Kernel.BodyLocation?.StartLine ?? 0) + line + 1;
        Failure = $"{reason} (line {absoluteLine})";
    }

    private bool Contains(SyntaxNode node, SiteKind kind) => SitesWithin(new TextSpanLike(node.SpanStart, node.Span.End), kind).Any();

    private List<CpuItem> Segment(SyntaxList<StatementSyntax> statements, bool topLevel = false)
    {
        var items = new List<CpuItem>();
        CpuThreadSegment? current = null;
        foreach (var statement in statements)
        {
            // Constants and shared arrays are declared once per group, before everything else (the prelude), so a
            // declaration in the middle of a segment does not split it.
            if (statement is LocalDeclarationStatementSyntax constant && constant.Modifiers.Any(SyntaxKind.ConstKeyword))
            {
                Prelude.Add(new CpuGroupStatement(statement, null));
                MarkRegion(statement, GroupRegion);
                continue;
            }
            if (statement is LocalDeclarationStatementSyntax { Declaration.Variables: { Count: 1 } variables } shared
                && variables[0].Initializer?.Value is InvocationExpressionSyntax allocation
                && SiteAt(allocation.SpanStart, allocation.Span.Length, SiteKind.SharedAllocation) is { } allocationSite)
            {
                if (SitesWithin(new TextSpanLike(allocation.SpanStart, allocation.Span.End), SiteKind.LocalReference).Any())
                {
                    Fail(statement, "a shared-memory length uses a local variable");
                    return items;
                }
                Prelude.Add(new CpuGroupStatement(statement, allocationSite));
                MarkRegion(statement, GroupRegion);
                continue;
            }
            // A top-level alias of a thread index (int thread = Group.IdxX;) is replaced by the runner's index itself.
            if (topLevel && TryThreadAlias(statement, out int aliasId, out string aliasText))
            {
                ThreadAliases[aliasId] = aliasText;
                continue;
            }
            // A top-level local that is the same for every thread (from parameters, Grid.IdxX, constants) and never
            // reassigned is computed once per group, so it needs no per-thread array.
            if (topLevel && statement is LocalDeclarationStatementSyntax uniform && IsGroupUniform(uniform))
            {
                Prelude.Add(new CpuGroupStatement(statement, null));
                MarkRegion(statement, GroupRegion);
                foreach (var variable in uniform.Declaration.Variables)
                {
                    if (SiteAt(variable.Identifier.SpanStart, variable.Identifier.Span.Length, SiteKind.LocalDeclarator) is { } declarator)
                        uniformLocals.Add(declarator.Number);
                }
                continue;
            }
            if (TryCollective(statement, out var collective))
            {
                current = null;
                items.Add(collective!);
                continue;
            }
            if (statement is ForStatementSyntax loop && Contains(loop, SiteKind.Collective))
            {
                current = null;
                var loopVariables = loop.Declaration?.Variables.Select(v => v.Identifier.Text) ?? Enumerable.Empty<string>();
                if (loopVariables.Any(Specialization.BodyConstants.AssignedNames(loop.Statement).Contains))
                {
                    Fail(loop, "the body of a loop holding collectives writes its loop variable (every thread would write it)");
                    return items;
                }
                foreach (var part in HeaderParts(loop))
                    MarkRegion(part, GroupRegion);
                var inner = loop.Statement is BlockSyntax block ? block.Statements : SyntaxFactory.SingletonList(loop.Statement);
                items.Add(new CpuGroupLoop(loop, Segment(inner, topLevel: false)));
                continue;
            }
            if (Contains(statement, SiteKind.Collective))
            {
                Fail(statement, "a collective is called inside a nested statement (only top-level statements or group-uniform 'for' loops may call one)");
                return items;
            }
            if (Contains(statement, SiteKind.SharedAllocation))
            {
                Fail(statement, "SharedMemory.Allocate is not a top-level 'var name = SharedMemory.Allocate<T>(n);' declaration");
                return items;
            }
            if (JumpsOutOf(statement) is { } jump)
            {
                Fail(jump, "a break, continue or goto leaves a loop that holds collectives (the group runs that loop once, each thread segment in turn)");
                return items;
            }
            if (current == null)
            {
                current = new CpuThreadSegment(nextRegion++);
                items.Add(current);
            }
            current.Statements.Add(statement);
            MarkRegion(statement, current.Region);
        }

        // A collective's argument is gathered at the end of the segment before it, its result read at the start of the one after.
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i] is not CpuCollective c)
                continue;
            if (c.Argument != null)
            {
                c.ArgumentRegion = i > 0 && items[i - 1] is CpuThreadSegment before ? before.Region : nextRegion++;
                c.OwnArgumentLoop = !(i > 0 && items[i - 1] is CpuThreadSegment);
                if (i > 0 && items[i - 1] is CpuThreadSegment previous)
                    previous.Gathers.Add(c);
                MarkRegion(c.Argument, c.ArgumentRegion);
            }
            if (c.HasResult)
            {
                bool groupScalar = c.Uniform && c.Scope == "Group" && c.DeclaredLocal != null && !assignedNames.Contains(c.DeclaredLocal.Identifier.Text);
                if (groupScalar)
                    c.ResultRegion = GroupRegion;
                else if (i + 1 < items.Count && items[i + 1] is CpuThreadSegment after)
                {
                    c.ResultRegion = after.Region;
                    after.Prologues.Add(c);
                }
                else
                {
                    c.ResultRegion = nextRegion++;
                    c.OwnResultLoop = true;
                }
                if (c.DeclaredLocal != null)
                    MarkRegion(new TextSpanLike(c.DeclaredLocal.Identifier.SpanStart, c.DeclaredLocal.Identifier.Span.End), c.ResultRegion); // not the initializer: that is the argument
                if (c.AssignedTarget != null)
                    MarkRegion(c.AssignedTarget, c.ResultRegion);
            }
        }
        return items;
    }

    private bool TryThreadAlias(StatementSyntax statement, out int id, out string replacement)
    {
        id = -1;
        replacement = "";
        if (statement is not LocalDeclarationStatementSyntax { Modifiers.Count: 0, Declaration.Variables: { Count: 1 } variables }
            || variables[0].Initializer?.Value is not { } value
            || assignedNames.Contains(variables[0].Identifier.Text)
            || SiteAt(value.SpanStart, value.Span.Length, SiteKind.ThreadIndex) is not { } geometry
            || CpuSiteRewriter.ThreadGeometry(geometry.Text) is not { } text
            || SiteAt(variables[0].Identifier.SpanStart, variables[0].Identifier.Span.Length, SiteKind.LocalDeclarator) is not { } declarator
            || Kernel.Locals[declarator.Number].TypeText != "int")
            return false;
        id = declarator.Number;
        replacement = text;
        return true;
    }

    /// <summary>A break/continue whose loop is not inside <paramref name="statement"/>, or any goto.</summary>
    private static SyntaxNode? JumpsOutOf(StatementSyntax statement)
    {
        foreach (var node in statement.DescendantNodesAndSelf())
        {
            if (node is GotoStatementSyntax)
                return node;
            if (node is not (BreakStatementSyntax or ContinueStatementSyntax))
                continue;
            bool bound = node.Ancestors().TakeWhile(a => a != statement.Parent).Any(a =>
                a is ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax or ForEachStatementSyntax
                || (node is BreakStatementSyntax && a is SwitchStatementSyntax));
            if (!bound)
                return node;
        }
        return null;
    }

    private bool IsGroupUniform(LocalDeclarationStatementSyntax declaration)
    {
        if (declaration.Modifiers.Count > 0 || declaration.UsingKeyword.RawKind != 0 || declaration.Declaration.Type is RefTypeSyntax)
            return false;
        foreach (var variable in declaration.Declaration.Variables)
        {
            if (variable.Initializer == null || assignedNames.Contains(variable.Identifier.Text) || !IsUniform(variable.Initializer.Value))
                return false;
        }
        return true;
    }

    /// <summary>True when an expression has the same value in every thread: no per-thread geometry, memory reads or calls other than Math.</summary>
    private bool IsUniform(ExpressionSyntax expression)
    {
        foreach (var node in expression.DescendantNodesAndSelf())
        {
            switch (node)
            {
                case ElementAccessExpressionSyntax or AssignmentExpressionSyntax or PostfixUnaryExpressionSyntax or RefExpressionSyntax
                    or AnonymousFunctionExpressionSyntax or AwaitExpressionSyntax:
                    return false;
                case PrefixUnaryExpressionSyntax prefix when prefix.IsKind(SyntaxKind.PreIncrementExpression) || prefix.IsKind(SyntaxKind.PreDecrementExpression):
                    return false;
                case InvocationExpressionSyntax call when call.Expression.ToString() is var callee
                    && !(callee.StartsWith("Math.", System.StringComparison.Ordinal) || callee.StartsWith("XMath.", System.StringComparison.Ordinal)
                         || callee.StartsWith("System.Math.", System.StringComparison.Ordinal)):
                    return false;
                case ExpressionSyntax when SiteAt(node.SpanStart, node.Span.Length, SiteKind.ThreadIndex) is { } geometry
                    && !CpuSiteRewriter.IsUniformGeometry(geometry.Text):
                    return false;
                case IdentifierNameSyntax when SiteAt(node.SpanStart, node.Span.Length, SiteKind.LocalReference) is { } reference
                    && !uniformLocals.Contains(reference.Number):
                    return false;
            }
        }
        return true;
    }

    private static IEnumerable<SyntaxNode> HeaderParts(ForStatementSyntax loop)
    {
        if (loop.Declaration != null)
            yield return loop.Declaration;
        foreach (var initializer in loop.Initializers)
            yield return initializer;
        if (loop.Condition != null)
            yield return loop.Condition;
        foreach (var incrementor in loop.Incrementors)
            yield return incrementor;
    }

    private bool TryCollective(StatementSyntax statement, out CpuCollective? collective)
    {
        collective = null;
        InvocationExpressionSyntax? call = null;
        VariableDeclaratorSyntax? declared = null;
        IdentifierNameSyntax? assigned = null;
        switch (statement)
        {
            case ExpressionStatementSyntax { Expression: InvocationExpressionSyntax direct }:
                call = direct;
                break;
            case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: IdentifierNameSyntax target, Right: InvocationExpressionSyntax right } assignment }
                when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression):
                call = right;
                assigned = target;
                break;
            case LocalDeclarationStatementSyntax { Declaration.Variables: { Count: 1 } variables } when variables[0].Initializer?.Value is InvocationExpressionSyntax initial:
                call = initial;
                declared = variables[0];
                break;
        }
        if (call == null || SiteAt(call.SpanStart, call.Span.Length, SiteKind.Collective) is not { } site)
            return false;
        var extra = site.Extra.Split('|');
        collective = new CpuCollective(nextCollective++, statement, site, call, extra[0], extra.Length > 1 ? extra[1] : "", extra.Length > 2 ? extra[2] : "void")
        {
            Argument = call.ArgumentList.Arguments.Count == 1 ? call.ArgumentList.Arguments[0].Expression : null,
            DeclaredLocal = declared,
            AssignedTarget = assigned,
        };
        Collectives.Add(collective);
        if (collective.Argument != null && site.Text.Length == 0)
            Fail(statement, "a collective with an argument has no CpuCombine");
        return true;
    }

    private void MarkRegion(SyntaxNode node, int region) => MarkRegion(new TextSpanLike(node.SpanStart, node.Span.End), region);

    private void MarkRegion(TextSpanLike span, int region)
    {
        foreach (var declarator in SitesWithin(span, SiteKind.LocalDeclarator))
        {
            DeclarationRegion[declarator.Number] = region;
            Regions(declarator.Number).Add(region);
        }
        foreach (var reference in SitesWithin(span, SiteKind.LocalReference))
            Regions(reference.Number).Add(region);
    }

    private HashSet<int> Regions(int local)
    {
        if (!LocalRegions.TryGetValue(local, out var set))
            LocalRegions[local] = set = new HashSet<int>();
        return set;
    }

    private void FindHoisted()
    {
        foreach (var pair in LocalRegions)
        {
            if (!DeclarationRegion.TryGetValue(pair.Key, out int declared) || declared == GroupRegion || pair.Value.Count < 2)
                continue;
            var local = Kernel.Locals[pair.Key];
            if (local.IsConst)
                continue;
            if (local.CannotHoist)
            {
                Failure ??= $"local '{local.Name}' (a ref, Span or pattern variable) lives across a collective and cannot become a per-thread array";
                return;
            }
            Hoisted.Add(pair.Key);
        }
    }
}
