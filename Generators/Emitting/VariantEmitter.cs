using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelSharp.Generators.Diagnostics;
using KernelSharp.Generators.Models;
using KernelSharp.Generators.Specialization;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace KernelSharp.Generators.Emitting;

/// <summary>
/// Writes one specialized variant method: the kernel body with the variant's constants and shapes declared as
/// <c>const</c> locals at the top (their parameters removed) and constant-trip loops unrolled. Each variant is itself
/// a valid ILGPU kernel.
/// </summary>
internal static class VariantEmitter
{
    public static void Emit(KernelModel kernel, KernelVariant variant, CodeWriter writer, List<DiagnosticInfo> diagnostics)
    {
        var folded = kernel.KnownValues(variant.Folded);
        var body = (BlockSyntax)ParseStatement(kernel.BodyText);
        if (variant.DynamicShared != null)
            body = DynamicSharedCarver.Mark(body, variant.DynamicShared);
        var unrolled = LoopUnroller.Unroll(body, folded, kernel.MaxUnroll, out var tooLarge);
        if (variant.DynamicShared != null)
            unrolled = DynamicSharedCarver.Carve(unrolled, variant.DynamicShared);
        foreach (var (offset, length, statements) in tooLarge)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnrolledLoopTooLarge, kernel.BodyLocation?.InBody(kernel.BodyText, offset, length),
                variant.MethodName, statements.ToString(CultureInfo.InvariantCulture),
                LoopUnroller.MaxUnrolledStatements.ToString(CultureInfo.InvariantCulture), kernel.MaxUnroll.ToString(CultureInfo.InvariantCulture)));
        }

        var constants = new List<StatementSyntax>();
        foreach (var parameter in variant.Combination.Constants.Concat(variant.Shapes))
        {
            constants.Add(ParseStatement($"const int {parameter.Name} = {parameter.Value.ToString(CultureInfo.InvariantCulture)};"));
        }
        var specialized = unrolled.WithStatements(List(constants.Concat(unrolled.Statements)));

        string foldedText = string.Join(", ", variant.Combination.Constants.Select(Describe));
        var shapeParameters = kernel.Parameters.Where(p => p.Kind == ParameterKind.Shape).ToList();
        string shapeText = shapeParameters.Count == 0 ? "none"
            : string.Join(", ", shapeParameters.Select(p => variant.Shapes.FirstOrDefault(s => s.Name == p.Name) is { } s ? Describe(s) : p.Name + " generic"));
        var parameters = kernel.Parameters
            .Where(p => p.Kind != ParameterKind.Constant && !variant.Shapes.Any(s => s.Name == p.Name))
            .Select(p => p.TypeText + " " + p.Name);

        writer.Line($"// Variant {variant.MethodName} of {kernel.Name}");
        writer.Line($"//   constants folded: {(foldedText.Length == 0 ? "none" : foldedText)}");
        writer.Line($"//   shapes: {shapeText}");
        writer.Line($"//   group size: {variant.GroupSize.ToString(CultureInfo.InvariantCulture)}; loops with a constant trip count up to {kernel.MaxUnroll.ToString(CultureInfo.InvariantCulture)} unrolled");
        if (variant.DynamicShared != null)
            writer.Line($"//   shared memory: {variant.DynamicShared.Bytes.ToString(CultureInfo.InvariantCulture)} bytes, dynamic (over the 48 KB static limit)");
        writer.Line($"public static void {variant.MethodName}{kernel.TypeParameterList}({string.Join(", ", parameters)}){kernel.ConstraintClauses}");
        writer.Node(specialized);
    }

    private static string Describe(FoldedParameter parameter) => parameter.Name + " = " + parameter.Value.ToString(CultureInfo.InvariantCulture);
}
