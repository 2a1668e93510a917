using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelSharp.Generators.Diagnostics;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Parsing;

/// <summary>Symbols → <see cref="KernelModel"/> plus diagnostics. Nothing Roslyn-typed leaves this class.</summary>
internal static class KernelParser
{
    public const string KernelAttributeName = "KernelSharp.Dsl.KernelAttribute";
    private const string ConstantAttributeName = "KernelSharp.Dsl.ConstantAttribute";
    private const string ShapeAttributeName = "KernelSharp.Dsl.ShapeAttribute";

    /// <summary>The default of <c>[Kernel(MaxUnroll = ...)]</c>: constant-trip loops up to this many iterations are unrolled.</summary>
    public const int DefaultMaxUnroll = 16;

    public static KernelParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellation)
    {
        var method = (IMethodSymbol)context.TargetSymbol;
        var syntax = (MethodDeclarationSyntax)context.TargetNode;
        var diagnostics = new List<DiagnosticInfo>();
        var location = LocationInfo.From(syntax.Identifier.GetLocation());

        string? shapeProblem = !method.IsStatic ? "is not static"
            : !method.ReturnsVoid ? "does not return void"
            : syntax.Body is null ? "has no block body" : null;
        if (shapeProblem != null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.KernelNotStatic, location, method.Name, shapeProblem));
        var typeParameters = TypeParameterParser.Parse(method, diagnostics);

        var containingTypes = new List<ContainingTypeModel>();
        foreach (var typeSyntax in syntax.Ancestors().OfType<TypeDeclarationSyntax>().Reverse())
        {
            bool isPartial = typeSyntax.Modifiers.Any(SyntaxKind.PartialKeyword);
            if (!isPartial || typeSyntax.TypeParameterList != null)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TypeNotPartial, LocationInfo.From(typeSyntax.Identifier.GetLocation()), typeSyntax.Identifier.Text, method.Name));
            containingTypes.Add(new ContainingTypeModel(TypeKeyword(typeSyntax), typeSyntax.Identifier.Text));
        }

        var parameters = new List<KernelParameterModel>();
        foreach (var parameter in method.Parameters)
        {
            cancellation.ThrowIfCancellationRequested();
            var parsed = ParameterParser.Parse(parameter, method.Name, diagnostics);
            if (parsed != null)
                parameters.Add(parsed);
        }

        if (syntax.Body != null)
        {
            // Folded parameters become 'const' locals in the variants, so the body must not write them.
            var written = Specialization.BodyConstants.AssignedNames(syntax.Body);
            foreach (var folded in parameters.Where(p => p.Kind is ParameterKind.Constant or ParameterKind.Shape && written.Contains(p.Name)))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedParameter, folded.Location, folded.Name, method.Name, "int",
                    "a [Constant] or [Shape] parameter is folded into a constant, so the kernel must not assign it: copy it into a local first"));
        }
        if (parameters.Count(p => p.Kind != ParameterKind.Constant) > 14)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedParameter, location, method.Parameters.Last().Name, method.Name,
                method.Parameters.Last().Type.ToDisplayString(), "ILGPU launches kernels with at most 14 run-time parameters: pack scalars into a struct"));

        var attribute = context.Attributes[0];
        string gridX = NamedString(attribute, "Grid", "1");
        string gridY = NamedString(attribute, "GridY", "1");
        string groupSize = NamedString(attribute, "GroupSize", "256");
        int maxUnroll = NamedInt(attribute, "MaxUnroll", DefaultMaxUnroll);
        string? hostGroup = attribute.NamedArguments.Where(a => a.Key == "HostGroup").Select(a => a.Value.Value as string).FirstOrDefault();
        string? hostGroupProblem = hostGroup == null ? null : HostGroupProblem(method, hostGroup);
        if (hostGroupProblem != null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HostGroupNotFound, location, method.Name, hostGroup!, hostGroupProblem));
        int hostSpanX = NamedInt(attribute, "HostGroupSpanX", 1);
        int hostSpanY = NamedInt(attribute, "HostGroupSpanY", 1);
        foreach (var (name, span) in new[] { ("HostGroupSpanX", hostSpanX), ("HostGroupSpanY", hostSpanY) })
        {
            string? spanProblem = span < 1 ? "it is below 1"
                : span != 1 && hostGroup == null ? "the kernel names no HostGroup" : null;
            if (spanProblem != null)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HostGroupSpanInvalid, location, method.Name, name,
                    span.ToString(System.Globalization.CultureInfo.InvariantCulture), spanProblem));
        }
        if (syntax.Body != null)
            diagnostics.AddRange(LaunchExpressionChecker.Check(method, attribute, syntax.Body.SpanStart, context.SemanticModel, cancellation));

        if (diagnostics.Count > 0 || syntax.Body is null)
            return new KernelParseResult(null, diagnostics.ToEquatableArray());

        // Problems ILGPU would only report at run time. The variants and launcher are still generated, so the build
        // shows these errors rather than a cascade of missing-launcher errors at every call site.
        diagnostics.AddRange(GpuCodeChecker.Check(method, syntax, context.SemanticModel, cancellation));
        diagnostics.AddRange(CollectiveDivergenceChecker.Check(context.SemanticModel, syntax.Body, method.Name, cancellation));

        var body = syntax.Body;
        var collector = new BodySiteCollector(context.SemanticModel, body, cancellation);
        collector.Collect();
        parameters = parameters
            .Select(p => p.Kind == ParameterKind.View ? p with { Read = collector.ViewsRead.Contains(p.Name), Written = collector.ViewsWritten.Contains(p.Name) } : p)
            .ToList();

        var namedConstants = collector.NamedConstants;
        namedConstants.AddRange(LaunchExpressionConstants(groupSize, context.SemanticModel, body.SpanStart));

        var root = (CompilationUnitSyntax)syntax.SyntaxTree.GetRoot(cancellation);
        // Global usings already apply to the generated file; repeating them would be a compiler warning.
        var usings = root.Usings.Where(u => u.GlobalKeyword.RawKind == 0).Select(u => u.ToString().Trim()).ToEquatableArray();
        var namespaceUsings = syntax.Ancestors().OfType<BaseNamespaceDeclarationSyntax>().Reverse()
            .SelectMany(n => n.Usings).Select(u => u.ToString().Trim()).ToEquatableArray();
        string ns = method.ContainingNamespace.IsGlobalNamespace ? "" : method.ContainingNamespace.ToDisplayString();
        string fullName = method.ContainingType.ToDisplayString() + "." + method.Name;

        var model = new KernelModel(
            ns, containingTypes.ToEquatableArray(), usings, namespaceUsings, method.Name, fullName,
            parameters.ToEquatableArray(), gridX, gridY, groupSize, maxUnroll,
            body.ToString(), collector.Sites.ToEquatableArray(), collector.Locals.ToEquatableArray(),
            namedConstants.Distinct().OrderBy(c => c.Text, System.StringComparer.Ordinal).ToEquatableArray(), collector.CpuBlocker,
            location, LocationInfo.From(body.OpenBraceToken.GetLocation()), typeParameters, hostGroup, hostSpanX, hostSpanY,
            attribute.NamedArguments.Any(a => a.Key == "LargeSharedMemory" && a.Value.Value is true));
        return new KernelParseResult(model, diagnostics.ToEquatableArray());
    }

    /// <summary>Integer const fields named in a launch expression (<c>GroupSize = "Tile.Threads"</c>), resolved at the kernel body.</summary>
    private static IEnumerable<NamedConstant> LaunchExpressionConstants(string expression, SemanticModel semantic, int position)
    {
        var parsed = SyntaxFactory.ParseExpression(expression);
        foreach (var node in parsed.DescendantNodesAndSelf())
        {
            ISymbol? symbol = null;
            if (node is IdentifierNameSyntax name && node.Parent is not MemberAccessExpressionSyntax)
                symbol = semantic.LookupSymbols(position, name: name.Identifier.Text).FirstOrDefault();
            else if (node is MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax owner } member
                && semantic.LookupSymbols(position, name: owner.Identifier.Text).FirstOrDefault() is INamedTypeSymbol type)
                symbol = type.GetMembers(member.Name.Identifier.Text).FirstOrDefault();
            if (symbol is IFieldSymbol { IsConst: true, ConstantValue: int or long or short or byte } field)
                yield return new NamedConstant(node.ToString(), System.Convert.ToInt64(field.ConstantValue, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static string TypeKeyword(TypeDeclarationSyntax type)
    {
        var modifiers = type.Modifiers.Where(m => m.IsKind(SyntaxKind.StaticKeyword) || m.IsKind(SyntaxKind.UnsafeKeyword)).Select(m => m.Text);
        string kind = type switch
        {
            RecordDeclarationSyntax r => r.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
            StructDeclarationSyntax => "struct",
            _ => "class",
        };
        return string.Join(" ", modifiers.Concat(new[] { "partial", kind }));
    }

    /// <summary>Why <paramref name="name"/> cannot be the kernel's host form, or null: a static void method of the kernel's
    /// class taking the kernel's parameter types in order, then two ints (the group's X and Y index).</summary>
    private static string? HostGroupProblem(IMethodSymbol kernel, string name)
    {
        var candidates = kernel.ContainingType.GetMembers(name).OfType<IMethodSymbol>().ToList();
        if (candidates.Count == 0)
            return $"'{kernel.ContainingType.Name}' has no method of that name";
        foreach (var candidate in candidates)
        {
            var parameters = candidate.Parameters;
            if (!candidate.IsStatic || !candidate.ReturnsVoid || parameters.Length != kernel.Parameters.Length + 2
                || candidate.TypeParameters.Length != kernel.TypeParameters.Length)
                continue;
            bool same = true;
            for (int i = 0; i < kernel.Parameters.Length && same; i++)
                same = parameters[i].Type.ToDisplayString() == kernel.Parameters[i].Type.ToDisplayString();
            if (same && parameters[parameters.Length - 2].Type.SpecialType == SpecialType.System_Int32 && parameters[parameters.Length - 1].Type.SpecialType == SpecialType.System_Int32)
                return null;
        }
        return $"no '{name}' is static, returns void and takes ({string.Join(", ", kernel.Parameters.Select(p => p.Type.ToDisplayString()))}, int, int)";
    }

    private static string NamedString(AttributeData attribute, string name, string fallback)
    {
        foreach (var pair in attribute.NamedArguments)
            if (pair.Key == name && pair.Value.Value is string text && text.Trim().Length > 0)
                return text.Trim();
        return fallback;
    }

    private static int NamedInt(AttributeData attribute, string name, int fallback)
    {
        foreach (var pair in attribute.NamedArguments)
            if (pair.Key == name && pair.Value.Value is int value)
                return value;
        return fallback;
    }

    /// <summary>Type parameters of a format-generic kernel: each must be constrained to a struct (ILGPU compiles one kernel per struct type argument).</summary>
    private static class TypeParameterParser
    {
        public static EquatableArray<TypeParameterModel> Parse(IMethodSymbol method, List<DiagnosticInfo> diagnostics)
        {
            var models = new List<TypeParameterModel>();
            foreach (var typeParameter in method.TypeParameters)
            {
                var location = LocationInfo.From(typeParameter.Locations.FirstOrDefault());
                if (!typeParameter.HasValueTypeConstraint && !typeParameter.HasUnmanagedTypeConstraint)
                {
                    string problem = typeParameter.ConstraintTypes.Length == 0 ? "has no constraint" : "is not constrained to 'struct'";
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TypeParameterNotStruct, location, typeParameter.Name, method.Name, problem));
                    continue;
                }
                var constraints = new List<string> { typeParameter.HasUnmanagedTypeConstraint ? "unmanaged" : "struct" };
                constraints.AddRange(typeParameter.ConstraintTypes.Select(t => t.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)));
                models.Add(new TypeParameterModel(typeParameter.Name, string.Join(", ", constraints)));
            }
            return models.ToEquatableArray();
        }
    }

    /// <summary>[Constant]/[Shape] and parameter types.</summary>
    private static class ParameterParser
    {
        public static KernelParameterModel? Parse(IParameterSymbol parameter, string kernel, List<DiagnosticInfo> diagnostics)
        {
            var location = LocationInfo.From(parameter.Locations.FirstOrDefault());
            string typeText = parameter.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            string shownType = parameter.Type.ToDisplayString();
            var constant = parameter.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == ConstantAttributeName);
            var shape = parameter.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == ShapeAttributeName);

            DiagnosticInfo Unsupported(string why) =>
                DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedParameter, location, parameter.Name, kernel, shownType, why);

            if (parameter.Name == "device" || parameter.Name.StartsWith("ks_", System.StringComparison.Ordinal))
            {
                diagnostics.Add(Unsupported("the names 'device' and 'ks_*' are taken by the generated launcher: rename the parameter"));
                return null;
            }
            if (parameter.RefKind != RefKind.None)
            {
                diagnostics.Add(Unsupported("ref, out and in parameters are not supported; pass an ArrayView<T> for results"));
                return null;
            }
            if (constant != null || shape != null)
            {
                if (constant != null && shape != null)
                {
                    diagnostics.Add(Unsupported("a parameter is either [Constant] or [Shape], not both"));
                    return null;
                }
                if (parameter.Type.SpecialType != SpecialType.System_Int32)
                {
                    diagnostics.Add(Unsupported("[Constant] and [Shape] parameters must be 'int'"));
                    return null;
                }
                var attribute = constant ?? shape!;
                var values = attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Kind == TypedConstantKind.Array
                    ? attribute.ConstructorArguments[0].Values.Select(v => v.Value is int i ? i : 0).ToList()
                    : new List<int>();
                bool powerOfTwo = attribute.NamedArguments.Any(a => a.Key == "PowerOfTwo" && a.Value.Value is true);
                string? configKey = attribute.NamedArguments.Where(a => a.Key == "ConfigKey").Select(a => a.Value.Value as string).FirstOrDefault();
                bool sharesTuning = attribute.NamedArguments.Any(a => a.Key == "SharesTuning" && a.Value.Value is true);
                if (!ValidateValues(parameter.Name, kernel, constant != null, values, powerOfTwo, configKey, location, diagnostics))
                    return null;
                return new KernelParameterModel(parameter.Name, typeText, constant != null ? ParameterKind.Constant : ParameterKind.Shape,
                    values.ToEquatableArray(), string.IsNullOrWhiteSpace(configKey) ? null : configKey!.Trim(), powerOfTwo, sharesTuning, false, false, location);
            }
            if (IsArrayView(parameter.Type, out var element))
            {
                if (!element.IsUnmanagedType)
                {
                    diagnostics.Add(Unsupported("the element type of an ArrayView must be an unmanaged type (float, ushort, byte, int, a struct of those)"));
                    return null;
                }
                return new KernelParameterModel(parameter.Name, typeText, ParameterKind.View, EquatableArray<int>.Empty, null, false, false, false, false, location);
            }
            if (parameter.Type.IsUnmanagedType && parameter.Type.TypeKind is TypeKind.Struct or TypeKind.Enum && !IsIlgpuType(parameter.Type))
                return new KernelParameterModel(parameter.Name, typeText, ParameterKind.Scalar, EquatableArray<int>.Empty, null, false, false, false, false, location);
            // A format-generic kernel's source (TRows rows), or a struct that holds views (struct Bf16Rows { ArrayView<ushort> Bits; ... }).
            if (parameter.Type is ITypeParameterSymbol { HasValueTypeConstraint: true } or ITypeParameterSymbol { HasUnmanagedTypeConstraint: true }
                || parameter.Type.TypeKind == TypeKind.Struct && !IsIlgpuType(parameter.Type) && HoldsOnlyViewsAndValues(parameter.Type, 0))
                return new KernelParameterModel(parameter.Name, typeText, ParameterKind.Scalar, EquatableArray<int>.Empty, null, false, false, false, false, location);
            if (parameter.Type.TypeKind == TypeKind.Interface)
            {
                diagnostics.Add(Unsupported($"an interface-typed parameter makes every call on it virtual, which ILGPU cannot compile: make the kernel generic, '{kernel}<T>(T {parameter.Name}, ...) where T : struct, {parameter.Type.Name}'"));
                return null;
            }
            diagnostics.Add(Unsupported("kernel parameters must be ArrayView<T>, an unmanaged scalar or struct (int, long, float, ...), a struct of views and values, or a struct-constrained type parameter"));
            return null;
        }

        private static bool ValidateValues(string name, string kernel, bool isConstant, List<int> values, bool powerOfTwo, string? configKey,
            LocationInfo? location, List<DiagnosticInfo> diagnostics)
        {
            string what = isConstant ? "[Constant]" : "[Shape]";
            string? problem = null;
            if (isConstant && values.Count == 0)
                problem = $"{what} parameter '{name}' lists no values: write e.g. [Constant(128, 256)]";
            else if (values.Any(v => v <= 0))
                problem = $"{what} parameter '{name}' lists {values.First(v => v <= 0)}: values must be positive";
            else if (values.Distinct().Count() != values.Count)
                problem = $"{what} parameter '{name}' lists a value twice: list each value once";
            else if (powerOfTwo && values.Any(v => (v & (v - 1)) != 0))
                problem = $"{what} parameter '{name}' requires powers of two but lists {values.First(v => (v & (v - 1)) != 0)}: use 16, 32, 64, 128, ...";
            else if (isConstant && configKey != null)
                problem = $"[Constant] parameter '{name}' cannot take ConfigKey: config values are shapes, use [Shape(ConfigKey = ...)]";
            if (problem == null)
                return true;
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidConstantValue, location, kernel, problem));
            return false;
        }

        public static bool IsArrayView(ITypeSymbol type, out ITypeSymbol element)
        {
            element = type;
            if (type is INamedTypeSymbol { Name: "ArrayView", TypeArguments.Length: 1 } named && named.ContainingNamespace.ToDisplayString() == "ILGPU")
            {
                element = named.TypeArguments[0];
                return true;
            }
            return false;
        }

        /// <summary>A struct ILGPU can pass to a kernel: its instance fields are unmanaged values, views, or such structs again.</summary>
        private static bool HoldsOnlyViewsAndValues(ITypeSymbol type, int depth)
        {
            if (depth > 8)
                return false;
            foreach (var field in type.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic))
            {
                var fieldType = field.Type;
                bool fits = fieldType.IsUnmanagedType
                    || IsArrayView(fieldType, out var element) && element.IsUnmanagedType
                    || fieldType.TypeKind == TypeKind.Struct && !IsIlgpuType(fieldType) && HoldsOnlyViewsAndValues(fieldType, depth + 1);
                if (!fits)
                    return false;
            }
            return true;
        }

        private static bool IsIlgpuType(ITypeSymbol type) => type.ContainingNamespace?.ToDisplayString().StartsWith("ILGPU", System.StringComparison.Ordinal) == true;
    }
}
