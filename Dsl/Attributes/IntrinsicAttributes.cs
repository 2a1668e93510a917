namespace KernelSharp.Dsl;

/// <summary>Which threads take part in a collective intrinsic.</summary>
public enum CollectiveScope
{
    /// <summary>The 32 lanes of a warp (lanes <c>32*w .. 32*w+31</c> of the group).</summary>
    Warp,

    /// <summary>Every thread of the group.</summary>
    Group,
}

/// <summary>
/// Marks an intrinsic that every thread of its scope must reach together (a barrier, a reduction, a broadcast).
/// The generated CPU path splits the kernel body at such calls (loop fission): it runs every thread up to the call,
/// gathers each thread's argument into a span, calls the static method named by <see cref="CpuCombine"/> (same
/// class, signature <c>T Combine(ReadOnlySpan&lt;T&gt; perThreadValues, int thread)</c>, or none for a plain
/// barrier) and resumes every thread after it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class CollectiveAttribute : Attribute
{
    public CollectiveAttribute(CollectiveScope scope) => Scope = scope;

    public CollectiveScope Scope { get; }

    /// <summary>Name of the CPU combine method in the same class; null for a plain barrier.</summary>
    public string? CpuCombine { get; set; }

    /// <summary>
    /// True (the default) when every thread of the scope receives the same result (reductions, broadcasts): the
    /// generated CPU path then calls <see cref="CpuCombine"/> once per scope instead of once per thread. Set false
    /// for per-thread results such as prefix sums.
    /// </summary>
    public bool UniformResult { get; set; } = true;
}

/// <summary>
/// Marks a per-thread intrinsic whose generated CPU path calls a different, faster body (for example a
/// <c>TensorPrimitives</c> dot product instead of a scalar loop). The CPU body lives in the same class, has the same
/// parameters and is named by <see cref="CpuBody"/>.
/// On a member of a format interface (called in a kernel through its type parameter, <c>weights.RowDot(...)</c>), the
/// CPU body is an instance member of the same interface: each format struct implements both, and the generated CPU
/// path calls the CPU member on the same value.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class IntrinsicAttribute : Attribute
{
    public string? CpuBody { get; set; }
}
