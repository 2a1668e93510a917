using System.Globalization;
using System.Linq;
using KernelSharp.Generators.Specialization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace KernelSharp.Generators.Emitting;

/// <summary>
/// Rewrites a large-shared-memory variant's <c>SharedMemory.Allocate&lt;T&gt;(n)</c> calls into slices of the dynamic
/// shared array (<c>SharedMemory.GetDynamic&lt;T&gt;().SubView(offset, n)</c>) at the offsets of its
/// <see cref="DynamicSharedLayout"/>. The calls are marked on the parsed body, whose spans are the layout's, and
/// replaced after loop unrolling, which must see the body as written (its diagnostics point into it).
/// </summary>
internal static class DynamicSharedCarver
{
    private const string AnnotationKind = "KernelSharp.DynamicShared";

    /// <summary>Marks the allocations of <paramref name="layout"/> in <paramref name="body"/> (spans unchanged).</summary>
    public static BlockSyntax Mark(BlockSyntax body, DynamicSharedLayout layout)
    {
        var calls = body.DescendantNodes().OfType<InvocationExpressionSyntax>()
            .Where(call => IndexOf(layout, call) >= 0)
            .ToList();
        return body.ReplaceNodes(calls, (original, rewritten) =>
            rewritten.WithAdditionalAnnotations(new SyntaxAnnotation(AnnotationKind, IndexOf(layout, original).ToString(CultureInfo.InvariantCulture))));
    }

    /// <summary>Replaces the marked allocations by their slices of dynamic shared memory.</summary>
    public static BlockSyntax Carve(BlockSyntax body, DynamicSharedLayout layout)
    {
        var calls = body.GetAnnotatedNodes(AnnotationKind).OfType<InvocationExpressionSyntax>().ToList();
        return body.ReplaceNodes(calls, (original, rewritten) =>
        {
            var carve = layout.Carves[int.Parse(original.GetAnnotations(AnnotationKind).First().Data!, CultureInfo.InvariantCulture)];
            string length = original.ArgumentList.Arguments.Count == 1 ? original.ArgumentList.Arguments[0].Expression.ToString() : "1";
            string offset = carve.ElementOffset.ToString(CultureInfo.InvariantCulture);
            return ParseExpression($"global::ILGPU.SharedMemory.GetDynamic<{carve.ElementType}>().SubView({offset}, {length})").WithTriviaFrom(rewritten);
        });
    }

    private static int IndexOf(DynamicSharedLayout layout, InvocationExpressionSyntax call)
    {
        for (int i = 0; i < layout.Carves.Count; i++)
        {
            if (layout.Carves[i].Start == call.SpanStart && layout.Carves[i].Length == call.Span.Length)
                return i;
        }
        return -1;
    }
}
