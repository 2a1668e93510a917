using System.Reflection;
using KernelSharp.Generators.Models;
using KernelSharp.Generators.Specialization;
using KernelSharp.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// The contract of the pipeline's models: immutable records with value equality that hold no Roslyn symbol, syntax
/// node, semantic model or compilation (which would keep compilations alive and defeat caching).
/// </summary>
public sealed class ModelContractTests
{
    private static readonly Type[] Forbidden = { typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Compilation), typeof(SemanticModel), typeof(Location), typeof(SyntaxToken) };

    private static IEnumerable<Type> ModelTypes() =>
        typeof(KernelGenerator).Assembly.GetTypes().Where(t =>
            t.Namespace == "KernelSharp.Generators.Models" && !t.IsEnum && !t.IsAbstract && !t.Name.StartsWith("<", StringComparison.Ordinal)
            && t != typeof(EquatableArray))
        .Concat(new[] { typeof(FoldedParameter), typeof(ConstantCombination), typeof(KernelVariant), typeof(VariantPlan) });

    public static IEnumerable<object[]> Models() => ModelTypes().Select(t => new object[] { t.Name });

    [Theory]
    [MemberData(nameof(Models))]
    public void ModelHoldsNoRoslynObjects(string typeName)
    {
        var type = ModelTypes().Single(t => t.Name == typeName);
        var seen = new HashSet<Type>();
        AssertNoForbidden(type, seen, typeName);
    }

    private static void AssertNoForbidden(Type type, HashSet<Type> seen, string path)
    {
        if (!seen.Add(type) || type.IsPrimitive || type == typeof(string) || type.IsEnum)
            return;
        Assert.False(Forbidden.Any(f => f.IsAssignableFrom(type)), $"{path} is a {type.Name}");
        foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : Type.EmptyTypes)
            AssertNoForbidden(argument, seen, path + "<" + argument.Name + ">");
        if (type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
            return;
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            AssertNoForbidden(field.FieldType, seen, path + "." + field.Name);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ModelIsAnEquatableRecordOrValue(string typeName)
    {
        var type = ModelTypes().Single(t => t.Name == typeName);
        Assert.True(type.IsValueType || type.IsSealed, $"{typeName} must be sealed");
        Assert.True(typeof(IEquatable<>).MakeGenericType(type).IsAssignableFrom(type), $"{typeName} must implement IEquatable<{typeName}>");
        Assert.All(type.GetProperties().Where(p => p.DeclaringType == type && p.Name != "EqualityContract"),
            p => Assert.True(p.SetMethod == null || p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit"), $"{typeName}.{p.Name} must be init-only"));
    }

    [Fact]
    public void ParsingTheSameSourceTwiceGivesEqualModels()
    {
        var source = KernelSources.InClass(KernelSources.RmsNorm + KernelSources.SharedTreeSum);
        KernelParseResult[] Parse() => GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(source)).GetRunResult()
            .Results.Single().TrackedSteps[KernelGenerator.ParseStep].SelectMany(s => s.Outputs).Select(o => (KernelParseResult)o.Value).ToArray();
        var first = Parse();
        var second = Parse();
        Assert.Equal(2, first.Length);
        Assert.Equal(first, second);
        Assert.Equal(first[0].GetHashCode(), second[0].GetHashCode());
        Assert.NotNull(first[0].Model);
        Assert.Contains(first[0].Model!.Sites, s => s.Kind == SiteKind.Collective);
    }

    [Fact]
    public void EquatableArrayComparesElements()
    {
        var a = new[] { 1, 2, 3 }.ToEquatableArray();
        var b = new List<int> { 1, 2, 3 }.ToEquatableArray();
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new[] { 1, 2 }.ToEquatableArray());
        Assert.Equal(EquatableArray<int>.Empty, default(EquatableArray<int>));
    }
}
