using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Specialization;

/// <summary>
/// Which locals of a body may be treated as constants once the variant's parameters are folded: <c>const</c> locals,
/// and locals never written after their initializer (<c>int warps = blockSize / 32;</c>: the original kernel cannot
/// say <c>const</c> there because <c>blockSize</c> is a parameter).
/// </summary>
internal static class BodyConstants
{
    /// <summary>Names written anywhere in <paramref name="scope"/> other than by their declaration.</summary>
    public static HashSet<string> AssignedNames(SyntaxNode scope)
    {
        var names = new HashSet<string>();
        foreach (var node in scope.DescendantNodes())
        {
            switch (node)
            {
                case AssignmentExpressionSyntax { Left: IdentifierNameSyntax target }:
                    names.Add(target.Identifier.Text);
                    break;
                case PrefixUnaryExpressionSyntax { Operand: IdentifierNameSyntax operand } prefix
                    when prefix.IsKind(SyntaxKind.PreIncrementExpression) || prefix.IsKind(SyntaxKind.PreDecrementExpression):
                    names.Add(operand.Identifier.Text);
                    break;
                case PostfixUnaryExpressionSyntax { Operand: IdentifierNameSyntax operand }:
                    names.Add(operand.Identifier.Text);
                    break;
                case ArgumentSyntax { Expression: IdentifierNameSyntax argument } passed when !passed.RefKindKeyword.IsKind(SyntaxKind.None):
                    names.Add(argument.Identifier.Text);
                    break;
                case RefExpressionSyntax { Expression: IdentifierNameSyntax referenced }:
                    names.Add(referenced.Identifier.Text);
                    break;
            }
        }
        return names;
    }

    /// <summary>
    /// Adds to <paramref name="known"/> the value of a local declared by <paramref name="declaration"/> when it folds and
    /// the local is const or never reassigned.
    /// </summary>
    public static void Learn(LocalDeclarationStatementSyntax declaration, Dictionary<string, long> known, HashSet<string> assigned)
    {
        if (declaration.Declaration.Type is not (PredefinedTypeSyntax or IdentifierNameSyntax { Identifier.Text: "var" }))
            return;
        bool isConst = declaration.Modifiers.Any(SyntaxKind.ConstKeyword);
        foreach (var variable in declaration.Declaration.Variables)
        {
            string name = variable.Identifier.Text;
            if (variable.Initializer == null || (!isConst && assigned.Contains(name)))
                continue;
            if (ConstantEvaluator.TryEvaluate(variable.Initializer.Value, known, out long value))
                known[name] = value;
        }
    }

    /// <summary>Every foldable local of the body, in order (used for the shared-memory size check).</summary>
    public static Dictionary<string, long> Collect(BlockSyntax body, IReadOnlyDictionary<string, long> parameters)
    {
        var known = new Dictionary<string, long>(parameters.ToDictionary(p => p.Key, p => p.Value));
        var assigned = AssignedNames(body);
        foreach (var declaration in body.DescendantNodes().OfType<LocalDeclarationStatementSyntax>())
            Learn(declaration, known, assigned);
        return known;
    }
}
