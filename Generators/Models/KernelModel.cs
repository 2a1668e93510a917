using System.Linq;

namespace KernelSharp.Generators.Models;

// Contract of every model type in this folder: an immutable sealed record (or enum) with structural equality,
// collections held in EquatableArray, and no Roslyn symbol, syntax node, semantic model or compilation inside.
// Syntax travels as text; the places of interest in the kernel body travel as BodySite spans into that text.
// The incremental pipeline relies on this to skip kernels whose model did not change (tested by ModelContractTests).

/// <summary>Everything the emitters need to know about one <c>[Kernel]</c> method.</summary>
/// <param name="Namespace">The containing namespace, or empty for the global namespace.</param>
/// <param name="ContainingTypes">Outermost first, e.g. <c>static partial class NormKernels</c>.</param>
/// <param name="Usings">The using directives of the kernel's file, verbatim, so the copied body binds as the original does.</param>
/// <param name="NamespaceUsings">Using directives written inside the namespace declaration.</param>
/// <param name="FullName">Namespace, types and method, e.g. <c>KernelSharp.Kernels.Norm.NormKernels.RmsNorm</c>: the cache and tuning key.</param>
/// <param name="GridX">The <c>[Kernel(Grid = ...)]</c> expression over the parameters.</param>
/// <param name="BodyText">The method body from its opening brace to its closing brace.</param>
/// <param name="Sites">Places in <paramref name="BodyText"/> the emitters treat specially, sorted by start.</param>
/// <param name="Locals">Every local declared in the body, in declaration order.</param>
/// <param name="CpuBlocker">Why the fast CPU path cannot be generated, or null.</param>
/// <param name="BodyLocation">Location of the body's opening brace, for diagnostics found inside the body.</param>
/// <param name="TypeParameters">The type parameters of a format-generic kernel (struct-constrained), or none.</param>
/// <param name="HostGroup">The <c>[Kernel(HostGroup = ...)]</c> method that the CPU path calls per group, or null.</param>
/// <param name="HostGroupSpanX">Groups along X that one call of <paramref name="HostGroup"/> computes (1: one call per group).</param>
/// <param name="HostGroupSpanY">The same along Y.</param>
/// <param name="LargeSharedMemory"><c>[Kernel(LargeSharedMemory = true)]</c>: variants over 48 KB of shared memory run on dynamic shared memory.</param>
internal sealed record KernelModel(
    string Namespace,
    EquatableArray<ContainingTypeModel> ContainingTypes,
    EquatableArray<string> Usings,
    EquatableArray<string> NamespaceUsings,
    string Name,
    string FullName,
    EquatableArray<KernelParameterModel> Parameters,
    string GridX,
    string GridY,
    string GroupSize,
    int MaxUnroll,
    string BodyText,
    EquatableArray<BodySite> Sites,
    EquatableArray<LocalModel> Locals,
    EquatableArray<NamedConstant> NamedConstants,
    string? CpuBlocker,
    LocationInfo? Location,
    LocationInfo? BodyLocation,
    EquatableArray<TypeParameterModel> TypeParameters,
    string? HostGroup,
    int HostGroupSpanX,
    int HostGroupSpanY,
    bool LargeSharedMemory)
{
    /// <summary><c>&lt;TRows&gt;</c> for a format-generic kernel, empty otherwise: appended to every generated method name.</summary>
    public string TypeParameterList => TypeParameters.Count == 0 ? "" : "<" + string.Join(", ", TypeParameters.Select(t => t.Name)) + ">";

    /// <summary><c> where TRows : struct, IRows</c> for a format-generic kernel, empty otherwise.</summary>
    public string ConstraintClauses => string.Concat(TypeParameters.Select(t => " where " + t.Name + " : " + t.Constraints));

    /// <summary>
    /// A C# expression naming the type arguments at run time (<c>"&lt;" + typeof(TRows).FullName + "&gt;"</c>), or
    /// <c>""</c>: every instantiation is its own compiled kernel and its own tuning key.
    /// </summary>
    public string TypeArgumentKey => TypeParameters.Count == 0 ? "\"\""
        : "\"<\" + " + string.Join(" + \",\" + ", TypeParameters.Select(t => $"typeof({t.Name}).FullName")) + " + \">\"";

    /// <summary>The named constants plus a variant's folded parameters (parameters win: they shadow fields).</summary>
    public System.Collections.Generic.Dictionary<string, long> KnownValues(System.Collections.Generic.IReadOnlyDictionary<string, long> folded)
    {
        var known = new System.Collections.Generic.Dictionary<string, long>();
        foreach (var constant in NamedConstants)
            known[constant.Text] = constant.Value;
        foreach (var pair in folded)
            known[pair.Key] = pair.Value;
        return known;
    }
}

/// <summary>A type parameter of a format-generic kernel: <c>Constraints</c> is its constraint list as written after "where T :".</summary>
internal sealed record TypeParameterModel(string Name, string Constraints);

/// <summary>A type enclosing the kernel: <c>Keyword</c> is e.g. <c>static partial class</c>.</summary>
internal sealed record ContainingTypeModel(string Keyword, string Name);

internal enum ParameterKind
{
    /// <summary>An <c>ArrayView&lt;T&gt;</c> buffer.</summary>
    View,

    /// <summary>A plain run-time scalar.</summary>
    Scalar,

    /// <summary>A <c>[Constant]</c> int: folded in every variant, chosen by the autotuner.</summary>
    Constant,

    /// <summary>A <c>[Shape]</c> int: folded in the variants that list its value, run-time in the generic one.</summary>
    Shape,
}

/// <summary>One kernel parameter.</summary>
/// <param name="TypeText">Fully qualified type, e.g. <c>global::ILGPU.ArrayView&lt;float&gt;</c>.</param>
/// <param name="Values">The listed <c>[Constant]</c>/<c>[Shape]</c> values, in order.</param>
/// <param name="ConfigKey">For <c>[Shape(ConfigKey = ...)]</c>: the config-file key whose values are added.</param>
/// <param name="SharesTuning">For <c>[Shape(SharesTuning = true)]</c>: left out of the autotuner's key.</param>
/// <param name="Read">For views: the kernel may read it.</param>
/// <param name="Written">For views: the kernel may write it. Read and written views are saved and restored by the
/// autotuner around its timed runs; written views also when they overlap a read one at run time (in-place calls).</param>
internal sealed record KernelParameterModel(
    string Name,
    string TypeText,
    ParameterKind Kind,
    EquatableArray<int> Values,
    string? ConfigKey,
    bool PowerOfTwo,
    bool SharesTuning,
    bool Read,
    bool Written,
    LocationInfo? Location)
{
    public bool ReadAndWritten => Read && Written;
}

internal enum SiteKind
{
    /// <summary>A reference to a local; <c>Number</c> is the local's id.</summary>
    LocalReference,

    /// <summary>A local's declarator; <c>Number</c> is the local's id.</summary>
    LocalDeclarator,

    /// <summary>An ILGPU thread-geometry property (<c>Group.IdxX</c>, <c>Grid.DimX</c>, <c>KsWarp.LaneIdx</c>); <c>Text</c> names it.</summary>
    ThreadIndex,

    /// <summary>A call of a <c>[Collective]</c> method (or ILGPU's <c>Group.Barrier</c>); <c>Text</c> is the CPU combine
    /// method (empty for a barrier), <c>Extra</c> "scope|argument type|result type" (scope <c>Group</c>/<c>Warp</c>), <c>Number</c> the argument count,
    /// <c>Flag</c> whether the result is the same for every thread of the scope.</summary>
    Collective,

    /// <summary>The method name of a call to an <c>[Intrinsic(CpuBody = ...)]</c> method; <c>Text</c> is the CPU body to call
    /// (a static method's full name, or <c>.Name</c> for an instance member called on the same receiver).</summary>
    IntrinsicCall,

    /// <summary>A <c>SharedMemory.Allocate&lt;T&gt;(n)</c> call; <c>Text</c> is T, <c>Number</c> sizeof(T) (0 if unknown),
    /// <c>Extra</c> the length expression ("1" for the single-element overload).</summary>
    SharedAllocation,

    /// <summary>A construct the CPU path cannot translate; <c>Text</c> says which.</summary>
    CpuUnsupported,

    /// <summary>A <c>for</c> statement (kept so unrolling diagnostics can point at it).</summary>
    ForLoop,

    /// <summary>An element access <c>view[index]</c> on an <c>ArrayView</c>; <c>Text</c> is the view as written. The CPU
    /// path checks its index in Debug builds.</summary>
    ViewElementAccess,
}

/// <summary>A span of the kernel body the emitters treat specially. Spans count from the body's opening brace.</summary>
internal sealed record BodySite(int Start, int Length, SiteKind Kind, string Text, string Extra, int Number, bool Flag);

/// <summary>An integer constant named in the body, keyed by its text (<c>Tile</c> or <c>MlaTile.KeysPerTile</c>).</summary>
internal sealed record NamedConstant(string Text, long Value);

/// <summary>A local of the kernel body.</summary>
/// <param name="Id">Position in declaration order; sites refer to it.</param>
/// <param name="TypeText">Fully qualified type (never <c>var</c>).</param>
/// <param name="IsConst">Declared <c>const</c>.</param>
/// <param name="CannotHoist">A <c>ref</c> local, a ref-like type (<c>Span</c>) or a pattern/out variable: cannot become a per-thread array.</param>
internal sealed record LocalModel(int Id, string Name, string TypeText, bool IsConst, bool CannotHoist, int DeclarationStart);

/// <summary>The parser's answer for one kernel: a model (null when the kernel is unusable) and its diagnostics.</summary>
internal sealed record KernelParseResult(KernelModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>Values found in the model config AdditionalFiles: key → values (sorted, distinct).</summary>
internal sealed record ConfigShapeTable(EquatableArray<ConfigShapeEntry> Entries)
{
    public static readonly ConfigShapeTable Empty = new(EquatableArray<ConfigShapeEntry>.Empty);
}

/// <summary>One integer value of one key in one config file.</summary>
internal sealed record ConfigShapeEntry(string Key, int Value);

/// <summary>The generated file of one kernel plus the diagnostics found while specializing it.</summary>
internal sealed record KernelOutput(string HintName, string Source, EquatableArray<DiagnosticInfo> Diagnostics);
