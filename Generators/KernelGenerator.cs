using KernelSharp.Generators.Emitting;
using KernelSharp.Generators.Models;
using KernelSharp.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators;

/// <summary>
/// The KernelSharp generator. For every <c>[Kernel]</c> method: one specialized variant per combination of
/// <c>[Constant]</c> values and <c>[Shape]</c> values (plus the generic shape), a fast CPU path and a typed launcher.
/// This method is only the pipeline; parsing lives in Parsing/, specialization in Specialization/, text in Emitting/.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class KernelGenerator : IIncrementalGenerator
{
    /// <summary>Step names, for incrementality tests.</summary>
    public const string ParseStep = "KernelSharp.Parse";
    public const string ConfigStep = "KernelSharp.Config";
    public const string EmitStep = "KernelSharp.Emit";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var kernels = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KernelParser.KernelAttributeName,
                static (node, _) => node is MethodDeclarationSyntax,
                static (syntax, cancellation) => KernelParser.Parse(syntax, cancellation))
            .WithTrackingName(ParseStep);

        var config = context.AdditionalTextsProvider
            .Where(ConfigFileParser.IsConfigFile)
            .Select(ConfigFileParser.Parse)
            .Collect()
            .Select(ConfigFileParser.Merge)
            .WithTrackingName(ConfigStep);

        var outputs = kernels
            .Combine(config)
            .Select(static (pair, _) => pair.Left.Model is null
                ? new KernelOutput("", "", pair.Left.Diagnostics)
                : Append(KernelFileEmitter.Emit(pair.Left.Model, pair.Right), pair.Left.Diagnostics))
            .WithTrackingName(EmitStep);

        context.RegisterSourceOutput(outputs, static (production, output) =>
        {
            foreach (var diagnostic in output.Diagnostics)
                production.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (output.Source.Length > 0)
                production.AddSource(output.HintName, output.Source);
        });
    }

    private static KernelOutput Append(KernelOutput output, EquatableArray<DiagnosticInfo> parseDiagnostics) =>
        parseDiagnostics.Count == 0 ? output : output with { Diagnostics = System.Linq.Enumerable.Concat(parseDiagnostics, output.Diagnostics).ToEquatableArray() };
}
