using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace KernelSharp.Generators.Specialization;

/// <summary>
/// Unrolls <c>for</c> loops whose trip count folds to a constant of at most <c>maxUnroll</c> iterations (ILGPU 1.5
/// does not unroll, and register fragments need constant indices). Each iteration becomes a block that starts with
/// <c>const int i = value;</c>, so the body stays as written and the C# compiler folds the index. A loop is left alone
/// when its body writes the loop variable or has a <c>break</c>/<c>continue</c>/<c>goto</c> of its own.
/// Visits the original (re-parsed) body, so node spans stay those of the kernel body text for diagnostics.
/// </summary>
internal sealed class LoopUnroller : CSharpSyntaxRewriter
{
    /// <summary>Most statements one unrolled loop may expand to (KS0007 above this).</summary>
    public const int MaxUnrolledStatements = 1024;

    private readonly Dictionary<string, long> known;
    private readonly HashSet<string> assigned;
    private readonly int maxUnroll;
    private readonly List<(int Offset, int Length, int Statements)> tooLarge;

    private LoopUnroller(Dictionary<string, long> known, HashSet<string> assigned, int maxUnroll, List<(int, int, int)> tooLarge)
    {
        this.known = known;
        this.assigned = assigned;
        this.maxUnroll = maxUnroll;
        this.tooLarge = tooLarge;
    }

    /// <summary>Returns the unrolled body; <paramref name="tooLarge"/> receives (offset, length, statements) of loops over the limit.</summary>
    public static BlockSyntax Unroll(BlockSyntax body, IReadOnlyDictionary<string, long> folded, int maxUnroll, out List<(int Offset, int Length, int Statements)> tooLarge)
    {
        tooLarge = new List<(int, int, int)>();
        var unroller = new LoopUnroller(folded.ToDictionary(p => p.Key, p => p.Value), BodyConstants.AssignedNames(body), maxUnroll, tooLarge);
        return (BlockSyntax)unroller.Visit(body);
    }

    public override SyntaxNode? VisitLocalDeclarationStatement(LocalDeclarationStatementSyntax node)
    {
        BodyConstants.Learn(node, known, assigned);
        return base.VisitLocalDeclarationStatement(node);
    }

    public override SyntaxNode? VisitForStatement(ForStatementSyntax node)
    {
        if (!TryGetIterations(node, out string variable, out TypeSyntax type, out List<long> iterations))
            return Nested(known.Where(k => k.Key != LoopVariable(node)).ToDictionary(k => k.Key, k => k.Value)).VisitForStatementCore(node);

        var blocks = new List<StatementSyntax>();
        foreach (long value in iterations)
        {
            var inner = new Dictionary<string, long>(known) { [variable] = value };
            var statement = (StatementSyntax)Nested(inner).Visit(node.Statement)!;
            var iterationConst = LocalDeclarationStatement(
                    VariableDeclaration(type.WithoutTrivia(), SingletonSeparatedList(
                        VariableDeclarator(Identifier(variable)).WithInitializer(EqualsValueClause(
                            LiteralExpression(SyntaxKind.NumericLiteralExpression, Literal(value.ToString(System.Globalization.CultureInfo.InvariantCulture), value)))))))
                .WithModifiers(TokenList(Token(SyntaxKind.ConstKeyword)));
            var statements = new List<StatementSyntax> { iterationConst };
            statements.AddRange(statement is BlockSyntax block ? block.Statements : (IEnumerable<StatementSyntax>)new[] { statement });
            blocks.Add(Block(statements));
        }
        int count = blocks.Sum(b => b.DescendantNodesAndSelf().OfType<StatementSyntax>().Count(s => s is not BlockSyntax));
        if (count > MaxUnrolledStatements)
        {
            tooLarge.Add((node.ForKeyword.SpanStart - RootStart(node), node.ForKeyword.Span.Length, count));
            return base.VisitForStatement(node);
        }
        return Block(blocks).WithLeadingTrivia(Comment($"// unrolled: {variable} = {string.Join(", ", iterations.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))}"));
    }

    private SyntaxNode? VisitForStatementCore(ForStatementSyntax node) => base.VisitForStatement(node);

    private LoopUnroller Nested(Dictionary<string, long> inner) => new(inner, assigned, maxUnroll, tooLarge);

    private static int RootStart(SyntaxNode node)
    {
        var root = node;
        while (root.Parent != null)
            root = root.Parent;
        return root.SpanStart;
    }

    private static string LoopVariable(ForStatementSyntax node) =>
        node.Declaration?.Variables.Count == 1 ? node.Declaration.Variables[0].Identifier.Text : "";

    /// <summary>Simulates the loop header over the known constants; false when it does not fold or runs too long.</summary>
    private bool TryGetIterations(ForStatementSyntax node, out string variable, out TypeSyntax type, out List<long> iterations)
    {
        iterations = new List<long>();
        variable = LoopVariable(node);
        type = node.Declaration?.Type ?? PredefinedType(Token(SyntaxKind.IntKeyword));
        if (maxUnroll <= 0 || variable.Length == 0 || node.Condition == null || node.Incrementors.Count != 1
            || node.Declaration!.Variables[0].Initializer == null
            || node.Declaration.Type is not PredefinedTypeSyntax { Keyword.RawKind: (int)SyntaxKind.IntKeyword or (int)SyntaxKind.LongKeyword }
            || WritesOrJumps(node, variable))
            return false;
        var scope = new Dictionary<string, long>(known);
        if (!ConstantEvaluator.TryEvaluate(node.Declaration.Variables[0].Initializer!.Value, scope, out long current))
            return false;
        while (true)
        {
            scope[variable] = current;
            if (!ConstantEvaluator.TryEvaluate(node.Condition, scope, out long condition))
                return false;
            if (condition == 0)
                return true;
            if (iterations.Count == maxUnroll)
                return false;
            iterations.Add(current);
            if (!Step(node.Incrementors[0], variable, scope, out current))
                return false;
        }
    }

    private static bool Step(ExpressionSyntax incrementor, string variable, Dictionary<string, long> scope, out long next)
    {
        next = 0;
        long current = scope[variable];
        switch (incrementor)
        {
            case PostfixUnaryExpressionSyntax { Operand: IdentifierNameSyntax name } postfix when name.Identifier.Text == variable:
                next = postfix.IsKind(SyntaxKind.PostIncrementExpression) ? current + 1 : current - 1;
                return true;
            case PrefixUnaryExpressionSyntax { Operand: IdentifierNameSyntax name } prefix when name.Identifier.Text == variable
                && (prefix.IsKind(SyntaxKind.PreIncrementExpression) || prefix.IsKind(SyntaxKind.PreDecrementExpression)):
                next = prefix.IsKind(SyntaxKind.PreIncrementExpression) ? current + 1 : current - 1;
                return true;
            case AssignmentExpressionSyntax { Left: IdentifierNameSyntax target } assignment when target.Identifier.Text == variable:
                if (!ConstantEvaluator.TryEvaluate(assignment.Right, scope, out long operand))
                    return false;
                switch (assignment.Kind())
                {
                    case SyntaxKind.AddAssignmentExpression: next = current + operand; return true;
                    case SyntaxKind.SubtractAssignmentExpression: next = current - operand; return true;
                    case SyntaxKind.MultiplyAssignmentExpression: next = current * operand; return true;
                    case SyntaxKind.DivideAssignmentExpression when operand != 0: next = current / operand; return true;
                    case SyntaxKind.LeftShiftAssignmentExpression: next = current << (int)operand; return true;
                    case SyntaxKind.RightShiftAssignmentExpression: next = current >> (int)operand; return true;
                    case SyntaxKind.SimpleAssignmentExpression: next = operand; return true;
                    default: return false;
                }
            default:
                return false;
        }
    }

    /// <summary>True when the body writes the loop variable or jumps out of this loop (break/continue of its own, goto, labels).</summary>
    private static bool WritesOrJumps(ForStatementSyntax loop, string variable)
    {
        if (BodyConstants.AssignedNames(loop.Statement).Contains(variable))
            return true;
        foreach (var node in loop.Statement.DescendantNodesAndSelf())
        {
            if (node is GotoStatementSyntax or LabeledStatementSyntax)
                return true;
            if (node is BreakStatementSyntax or ContinueStatementSyntax)
            {
                var owner = node.Ancestors().FirstOrDefault(a => a is ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax or ForEachStatementSyntax
                    || (node is BreakStatementSyntax && a is SwitchStatementSyntax));
                if (owner == loop)
                    return true;
            }
        }
        return false;
    }
}
