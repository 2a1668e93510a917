using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelSharp.Generators.Diagnostics;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Specialization;

/// <summary>A parameter folded into a variant.</summary>
internal sealed record FoldedParameter(string Name, int Value);

/// <summary>One combination of <c>[Constant]</c> values: one autotuning candidate.</summary>
internal sealed record ConstantCombination(int Index, EquatableArray<FoldedParameter> Constants, string Name);

/// <summary>One generated variant method.</summary>
/// <param name="Shapes">The folded shapes; a shape parameter not listed here stays a run-time parameter.</param>
/// <param name="DynamicShared">For a variant over 48 KB of shared memory (a kernel with <c>LargeSharedMemory = true</c>):
/// where its allocations sit in dynamic shared memory; null when they stay static.</param>
internal sealed record KernelVariant(string MethodName, ConstantCombination Combination, EquatableArray<FoldedParameter> Shapes, int GroupSize,
    DynamicSharedLayout? DynamicShared)
{
    public IReadOnlyDictionary<string, long> Folded =>
        Combination.Constants.Concat(Shapes).ToDictionary(p => p.Name, p => (long)p.Value);
}

/// <summary>The variants of a kernel and whether a run-time shape outside the listed values can still be served.</summary>
internal sealed record VariantPlan(EquatableArray<ConstantCombination> Combinations, EquatableArray<KernelVariant> Variants, EquatableArray<string> ShapesWithoutGeneric);

/// <summary>
/// Enumerates a kernel's variants (every [Constant] combination × for each [Shape]: each listed value and the generic
/// run-time one) and checks each: group size, shared memory, shape coverage, count.
/// </summary>
internal static class VariantPlanner
{
    public const int MaxVariants = 64;

    public static VariantPlan? Plan(KernelModel kernel, ConfigShapeTable config, List<DiagnosticInfo> diagnostics)
    {
        var constants = kernel.Parameters.Where(p => p.Kind == ParameterKind.Constant).ToList();
        var shapes = kernel.Parameters.Where(p => p.Kind == ParameterKind.Shape).ToList();
        var combinations = Cartesian(constants.Select(c => c.Values.Select(v => new FoldedParameter(c.Name, v)).ToList()).ToList())
            .Select((values, index) => new ConstantCombination(index, values.ToEquatableArray(), Suffix(values)))
            .ToList();

        // Shape options: each listed value (explicit first, then config values), and null = generic.
        var shapeOptions = shapes.Select(s => ShapeValues(s, config).Select(v => (FoldedParameter?)new FoldedParameter(s.Name, v))
            .Concat(new FoldedParameter?[] { null }).ToList()).ToList();
        long variantCount = combinations.Count * shapeOptions.Aggregate(1L, (n, options) => n * options.Count);
        if (variantCount > MaxVariants)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TooManyVariants, kernel.Location, kernel.Name,
                variantCount.ToString(CultureInfo.InvariantCulture), MaxVariants.ToString(CultureInfo.InvariantCulture)));
            return null;
        }

        var body = (BlockSyntax)SyntaxFactory.ParseStatement(kernel.BodyText);
        var allocations = kernel.Sites.Where(s => s.Kind == SiteKind.SharedAllocation).ToList();
        var variants = new List<KernelVariant>();
        var withoutGeneric = new SortedSet<string>(System.StringComparer.Ordinal);
        int errorsBefore = diagnostics.Count;
        foreach (var combination in combinations)
        {
            foreach (var shapeChoice in Cartesian(shapeOptions))
            {
                var folded = shapeChoice.Where(s => s != null).Select(s => s!).ToList();
                string name = kernel.Name + "__" + JoinSuffix(combination.Name, Suffix(folded));
                var known = kernel.KnownValues(combination.Constants.Concat(folded).ToDictionary(p => p.Name, p => (long)p.Value));
                var genericShapes = shapes.Select(s => s.Name).Where(n => !folded.Any(f => f.Name == n)).ToList();

                if (!CheckSharedMemory(kernel, name, body, known, allocations, genericShapes, withoutGeneric, diagnostics, out var dynamicShared))
                    continue;
                if (!ConstantEvaluator.TryEvaluate(kernel.GroupSize, known, out long groupSize))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLaunchExpression, kernel.Location, kernel.Name,
                        $"GroupSize \"{kernel.GroupSize}\" does not fold to a constant in variant '{name}': use a [Constant] parameter or a literal"));
                    continue;
                }
                if (!(groupSize == 1 || (groupSize % 32 == 0 && groupSize > 0 && groupSize <= 1024)))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidConstantValue, kernel.Location, kernel.Name,
                        $"group size {groupSize.ToString(CultureInfo.InvariantCulture)} of variant '{name}' must be 1 or a multiple of 32 up to 1024: change the [Constant] values or GroupSize"));
                    continue;
                }
                variants.Add(new KernelVariant(name, combination, folded.ToEquatableArray(), (int)groupSize, dynamicShared));
            }
        }

        foreach (var shape in shapes.Where(s => withoutGeneric.Contains(s.Name) && ShapeValues(s, config).Count == 0))
        {
            string source = shape.ConfigKey == null ? "" : $" and no config file gives '{shape.ConfigKey}'";
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoVariantForShape, shape.Location, kernel.Name,
                $"shape '{shape.Name}' sizes shared memory, so only listed values can be compiled, but none is listed{source}: add values with [Shape(...)] or a ConfigKey present in the config AdditionalFiles"));
        }
        if (diagnostics.Count > errorsBefore)
            return null;
        return new VariantPlan(combinations.ToEquatableArray(), variants.ToEquatableArray(), withoutGeneric.ToEquatableArray());
    }

    public static List<int> ShapeValues(KernelParameterModel shape, ConfigShapeTable config)
    {
        var values = new List<int>(shape.Values);
        if (shape.ConfigKey != null)
            values.AddRange(config.Entries.Where(e => e.Key == shape.ConfigKey && e.Value > 0).Select(e => e.Value).OrderBy(v => v));
        return values.Distinct().ToList();
    }

    private static bool CheckSharedMemory(KernelModel kernel, string variant, BlockSyntax body, Dictionary<string, long> known,
        List<BodySite> allocations, List<string> genericShapes, SortedSet<string> withoutGeneric, List<DiagnosticInfo> diagnostics,
        out DynamicSharedLayout? dynamicShared)
    {
        dynamicShared = null;
        if (allocations.Count == 0)
            return true;
        var locals = BodyConstants.Collect(body, known);
        long bytes = 0;
        var counts = new List<long>();
        foreach (var allocation in allocations)
        {
            var length = SyntaxFactory.ParseExpression(allocation.Extra);
            if (!ConstantEvaluator.TryEvaluate(length, locals, out long count))
            {
                var names = length.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Select(n => n.Identifier.Text).ToList();
                var shapeNames = genericShapes.Where(names.Contains).ToList();
                if (shapeNames.Count > 0)
                {
                    // The generic variant of that shape cannot exist: ILGPU needs a constant shared length.
                    foreach (var shape in shapeNames)
                        withoutGeneric.Add(shape);
                    return false;
                }
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SharedMemoryNotConstant,
                    kernel.BodyLocation?.InBody(kernel.BodyText, allocation.Start, allocation.Length), variant, allocation.Extra));
                return false;
            }
            counts.Add(count);
            bytes += count * (allocation.Number == 0 ? 4 : allocation.Number);
        }
        if (bytes <= DynamicSharedLayout.StaticLimitBytes)
            return true;
        // Over 48 KB: dynamic shared memory, for kernels that ask for it and up to what a group can get.
        dynamicShared = kernel.LargeSharedMemory && bytes <= DynamicSharedLayout.DynamicLimitBytes ? DynamicSharedLayout.Place(allocations, counts) : null;
        if (dynamicShared == null || dynamicShared.Bytes > DynamicSharedLayout.DynamicLimitBytes)
        {
            string advice = !kernel.LargeSharedMemory
                ? "over the 49152-byte (48 KB) static limit; use a smaller tile, remove that constant value, or set LargeSharedMemory = true on [Kernel] (dynamic shared memory, up to 232448 bytes on GPUs that allow it)"
                : dynamicShared != null || bytes > DynamicSharedLayout.DynamicLimitBytes
                    ? "over the 232448 bytes (227 KB) a group can get with LargeSharedMemory (allocations start on 16 bytes); use a smaller tile or remove that constant value"
                    : "over 48 KB, so it must be dynamic shared memory, but an allocation's element type has no size the generator knows; use a primitive element type";
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SharedMemoryTooLarge, kernel.Location, variant, bytes.ToString(CultureInfo.InvariantCulture), advice));
            dynamicShared = null;
            return false;
        }
        return true;
    }

    private static string Suffix(IEnumerable<FoldedParameter> values) =>
        string.Join("_", values.Select(v => v.Name + v.Value.ToString(CultureInfo.InvariantCulture)));

    private static string JoinSuffix(string constants, string shapes) =>
        constants.Length == 0 && shapes.Length == 0 ? "generic" : constants.Length == 0 ? shapes : shapes.Length == 0 ? constants : constants + "_" + shapes;

    private static List<List<T>> Cartesian<T>(List<List<T>> options)
    {
        var result = new List<List<T>> { new() };
        foreach (var option in options)
            result = result.SelectMany(prefix => option.Select(value => new List<T>(prefix) { value })).ToList();
        return result;
    }
}
