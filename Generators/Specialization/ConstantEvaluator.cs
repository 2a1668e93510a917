using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Specialization;

/// <summary>
/// Folds an integer C# expression over known names (the variant's constants and shapes, constant locals):
/// literals, + - * / % &lt;&lt; &gt;&gt; &amp; | ^ ~, comparisons, &amp;&amp; ||, ?:, casts to int/long, Math.Min/Max and
/// <c>KsWarp.Size</c>. Anything else does not fold.
/// </summary>
internal static class ConstantEvaluator
{
    public static bool TryEvaluate(ExpressionSyntax expression, IReadOnlyDictionary<string, long> known, out long value)
    {
        try
        {
            return Evaluate(expression, known, out value);
        }
        catch (Exception e) when (e is OverflowException or DivideByZeroException)
        {
            value = 0;
            return false;
        }
    }

    public static bool TryEvaluate(string expression, IReadOnlyDictionary<string, long> known, out long value) =>
        TryEvaluate(SyntaxFactory.ParseExpression(expression), known, out value);

    private static bool Evaluate(ExpressionSyntax expression, IReadOnlyDictionary<string, long> known, out long value)
    {
        value = 0;
        switch (expression)
        {
            case LiteralExpressionSyntax literal when literal.IsKind(SyntaxKind.NumericLiteralExpression):
                switch (literal.Token.Value)
                {
                    case int i: value = i; return true;
                    case long l: value = l; return true;
                    case uint u: value = u; return true;
                    default: return false;
                }
            case LiteralExpressionSyntax boolean when boolean.IsKind(SyntaxKind.TrueLiteralExpression) || boolean.IsKind(SyntaxKind.FalseLiteralExpression):
                value = boolean.IsKind(SyntaxKind.TrueLiteralExpression) ? 1 : 0;
                return true;
            case IdentifierNameSyntax name:
                return known.TryGetValue(name.Identifier.Text, out value);
            case MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.Text: "KsWarp" }, Name.Identifier.Text: "Size" }:
                value = 32;
                return true;
            case MemberAccessExpressionSyntax member:
                return known.TryGetValue(member.ToString(), out value);
            case ParenthesizedExpressionSyntax parenthesized:
                return Evaluate(parenthesized.Expression, known, out value);
            case CastExpressionSyntax cast when cast.Type is PredefinedTypeSyntax predefined
                && (predefined.Keyword.IsKind(SyntaxKind.IntKeyword) || predefined.Keyword.IsKind(SyntaxKind.LongKeyword)):
                return Evaluate(cast.Expression, known, out value);
            case PrefixUnaryExpressionSyntax unary:
                if (!Evaluate(unary.Operand, known, out long operand))
                    return false;
                switch (unary.Kind())
                {
                    case SyntaxKind.UnaryMinusExpression: value = -operand; return true;
                    case SyntaxKind.UnaryPlusExpression: value = operand; return true;
                    case SyntaxKind.BitwiseNotExpression: value = ~operand; return true;
                    case SyntaxKind.LogicalNotExpression: value = operand == 0 ? 1 : 0; return true;
                    default: return false;
                }
            case ConditionalExpressionSyntax conditional:
                if (!Evaluate(conditional.Condition, known, out long condition))
                    return false;
                return Evaluate(condition != 0 ? conditional.WhenTrue : conditional.WhenFalse, known, out value);
            case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "Min" or "Max" } member } call
                when call.ArgumentList.Arguments.Count == 2 && member.Expression.ToString() is "Math" or "System.Math" or "XMath":
                if (!Evaluate(call.ArgumentList.Arguments[0].Expression, known, out long first)
                    || !Evaluate(call.ArgumentList.Arguments[1].Expression, known, out long second))
                    return false;
                value = member.Name.Identifier.Text == "Min" ? Math.Min(first, second) : Math.Max(first, second);
                return true;
            case BinaryExpressionSyntax binary:
                return EvaluateBinary(binary, known, out value);
            default:
                return false;
        }
    }

    private static bool EvaluateBinary(BinaryExpressionSyntax binary, IReadOnlyDictionary<string, long> known, out long value)
    {
        value = 0;
        if (!Evaluate(binary.Left, known, out long left) || !Evaluate(binary.Right, known, out long right))
            return false;
        checked
        {
            switch (binary.Kind())
            {
                case SyntaxKind.AddExpression: value = left + right; return true;
                case SyntaxKind.SubtractExpression: value = left - right; return true;
                case SyntaxKind.MultiplyExpression: value = left * right; return true;
                case SyntaxKind.DivideExpression: value = left / right; return true;
                case SyntaxKind.ModuloExpression: value = left % right; return true;
                case SyntaxKind.LeftShiftExpression: value = left << (int)right; return true;
                case SyntaxKind.RightShiftExpression: value = left >> (int)right; return true;
                case SyntaxKind.BitwiseAndExpression: value = left & right; return true;
                case SyntaxKind.BitwiseOrExpression: value = left | right; return true;
                case SyntaxKind.ExclusiveOrExpression: value = left ^ right; return true;
                case SyntaxKind.LessThanExpression: value = left < right ? 1 : 0; return true;
                case SyntaxKind.LessThanOrEqualExpression: value = left <= right ? 1 : 0; return true;
                case SyntaxKind.GreaterThanExpression: value = left > right ? 1 : 0; return true;
                case SyntaxKind.GreaterThanOrEqualExpression: value = left >= right ? 1 : 0; return true;
                case SyntaxKind.EqualsExpression: value = left == right ? 1 : 0; return true;
                case SyntaxKind.NotEqualsExpression: value = left != right ? 1 : 0; return true;
                case SyntaxKind.LogicalAndExpression: value = left != 0 && right != 0 ? 1 : 0; return true;
                case SyntaxKind.LogicalOrExpression: value = left != 0 || right != 0 ? 1 : 0; return true;
                default: return false;
            }
        }
    }
}
