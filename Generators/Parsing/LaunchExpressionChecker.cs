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
/// Checks the <c>[Kernel(Grid, GridY, GroupSize)]</c> strings: each must be a C# expression whose names are parameters
/// of the kernel or constants and types in scope. The launcher pastes them into generated code, so a typo would
/// otherwise surface as CS0103 inside <c>obj/</c>, far from the attribute that holds it.
/// </summary>
internal static class LaunchExpressionChecker
{
    private static readonly string[] Properties = { "Grid", "GridY", "GroupSize" };

    public static IEnumerable<DiagnosticInfo> Check(IMethodSymbol kernel, AttributeData attribute, int bodyPosition, SemanticModel semantic,
        CancellationToken cancellation)
    {
        var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellation) as AttributeSyntax;
        foreach (var property in Properties)
        {
            if (attribute.NamedArguments.FirstOrDefault(a => a.Key == property).Value.Value is not string text || text.Trim().Length == 0)
                continue;
            var where = attributeSyntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == property);
            SyntaxNode? node = (SyntaxNode?)where?.Expression ?? attributeSyntax;
            var location = node is null ? null : LocationInfo.From(node);
            string? problem = Problem(kernel, property, text.Trim(), bodyPosition, semantic);
            if (problem != null)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLaunchExpression, location, kernel.Name, problem);
        }
    }

    private static string? Problem(IMethodSymbol kernel, string property, string text, int position, SemanticModel semantic)
    {
        var expression = SyntaxFactory.ParseExpression(text);
        if (expression.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error) || expression.FullSpan.Length != text.Length)
            return $"{property} \"{text}\" is not a C# expression: write an expression over the parameters, e.g. \"(n + 255) / 256\"";
        var parameters = kernel.Parameters.Select(p => p.Name).ToList();
        foreach (var name in expression.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
        {
            if (name.Parent is MemberAccessExpressionSyntax access && access.Name == name)
            {
                if (access.Expression is IdentifierNameSyntax owner && Lookup(semantic, position, owner.Identifier.Text) is INamespaceOrTypeSymbol type
                    && type.GetMembers(name.Identifier.Text).IsEmpty)
                    return $"{property} \"{text}\" names '{access}', but '{type.Name}' has no member '{name.Identifier.Text}'";
                continue;
            }
            string identifier = name.Identifier.Text;
            if (parameters.Contains(identifier) || Lookup(semantic, position, identifier) != null)
                continue;
            string parameterList = parameters.Count == 0 ? "it has none" : "parameters: " + string.Join(", ", parameters);
            string suggestion = Closest(identifier, parameters) is { } close ? $"; did you mean '{close}'?" : "";
            return $"{property} \"{text}\" names '{identifier}', which is not a parameter of the kernel or a constant in scope ({parameterList}){suggestion}";
        }
        return null;
    }

    private static ISymbol? Lookup(SemanticModel semantic, int position, string name) =>
        semantic.LookupSymbols(position, name: name).FirstOrDefault(s => s is not ILocalSymbol);

    /// <summary>The parameter one or two edits away from a mistyped name, if exactly one is that close.</summary>
    private static string? Closest(string written, IEnumerable<string> names)
    {
        var close = names.Where(n => EditDistance(n, written) <= (written.Length <= 4 ? 1 : 2)).ToList();
        return close.Count == 1 ? close[0] : null;
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = System.Math.Min(System.Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
