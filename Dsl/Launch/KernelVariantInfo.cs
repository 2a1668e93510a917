namespace KernelSharp.Dsl.Launch;

/// <summary>A parameter folded into a variant: a <c>[Constant]</c> or a <c>[Shape]</c> value.</summary>
public readonly record struct FoldedValue(string Name, int Value)
{
    public override string ToString() => $"{Name}={Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>
/// One generated specialization of a kernel, as listed by the generated <c>XxxKernels.NameVariants</c> property.
/// </summary>
/// <param name="Kernel">The kernel method name (e.g. <c>RmsNorm</c>).</param>
/// <param name="Method">The variant method name (e.g. <c>RmsNorm__blockSize128_cols4096</c>).</param>
/// <param name="Constants">The folded <c>[Constant]</c> values, in parameter order.</param>
/// <param name="Shapes">The folded <c>[Shape]</c> values; shape parameters not listed stay run-time (generic).</param>
/// <param name="DynamicSharedBytes">For a variant over 48 KB of shared memory (<c>[Kernel(LargeSharedMemory = true)]</c>):
/// the dynamic shared memory a launch must ask for, after <see cref="LargeSharedMemory.Allow{TDelegate}"/>; 0 otherwise.</param>
public sealed record KernelVariantInfo(string Kernel, string Method, IReadOnlyList<FoldedValue> Constants, IReadOnlyList<FoldedValue> Shapes,
    int DynamicSharedBytes = 0)
{
    /// <summary>True when no shape is folded: the variant serves any shape.</summary>
    public bool IsGeneric => Shapes.Count == 0;

    public override string ToString() =>
        $"{Method} (constants: {string.Join(", ", Constants)}; shapes: {(Shapes.Count == 0 ? "generic" : string.Join(", ", Shapes))})";
}
