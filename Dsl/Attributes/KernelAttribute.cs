namespace KernelSharp.Dsl;

/// <summary>
/// Marks a <c>static</c> method of a <c>partial</c> class as a KernelSharp kernel. The method itself is a valid
/// ILGPU explicitly-grouped kernel (the generic variant) unless a <see cref="ConstantAttribute"/> parameter sizes its
/// shared memory, which ILGPU needs as a constant: then only the variants compile for a GPU. The source generator
/// adds one specialized copy per combination of <see cref="ConstantAttribute"/> and <see cref="ShapeAttribute"/>
/// values, a CPU path and a typed launcher.
/// </summary>
/// <remarks>
/// Launch geometry is written as C# expressions over the kernel's parameters, evaluated by the launcher:
/// <c>[Kernel(Grid = "rows", GroupSize = "BlockSize")]</c> launches <c>rows</c> groups of <c>BlockSize</c>
/// threads. <see cref="GroupSize"/> must fold to a constant in every variant.
/// </remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class KernelAttribute : Attribute
{
    /// <summary>Number of groups along X, a C# expression over the kernel parameters (e.g. <c>"(n + 255) / 256"</c>).</summary>
    public string Grid { get; set; } = "1";

    /// <summary>Number of groups along Y (default 1).</summary>
    public string GridY { get; set; } = "1";

    /// <summary>Threads per group, a C# expression that folds to a constant in every variant (e.g. <c>"BlockSize"</c> or <c>"256"</c>).</summary>
    public string GroupSize { get; set; } = "256";

    /// <summary>
    /// In the specialized variants, <c>for</c> loops whose trip count folds to a constant of at most this many
    /// iterations are unrolled (ILGPU does not unroll). 0 turns unrolling off. Default 16.
    /// </summary>
    public int MaxUnroll { get; set; } = 16;

    /// <summary>
    /// Optional: the name of a static method of the kernel's class that computes one whole group on the host. The
    /// generated CPU path then calls it once per group, with the kernel's parameters (type parameters included, constants
    /// as values) followed by the group's X and Y index, instead of running the body's threads one by one. For kernels
    /// whose GPU shape (many threads sharing partial sums) costs more to emulate than the group's work: the body, and so
    /// what the GPUs run, stays as written. The host form must compute what the group computes (tests compare the two
    /// paths against the same reference).
    /// </summary>
    public string? HostGroup { get; set; }

    /// <summary>
    /// Optional, with <see cref="HostGroup"/>: how many consecutive groups along X one call of the host form computes
    /// (default 1). The CPU path then calls it once per block of <see cref="HostGroupSpanX"/> × <see cref="HostGroupSpanY"/>
    /// groups, with the block's first group index, and the form covers the groups of its block that exist. For host forms
    /// that amortize a call over several groups (a decode GEMV's rows): calling such a form for every group only to
    /// return from most of them cost more than the work on small matrices.
    /// </summary>
    public int HostGroupSpanX { get; set; } = 1;

    /// <summary>Optional, with <see cref="HostGroup"/>: the same along Y (see <see cref="HostGroupSpanX"/>).</summary>
    public int HostGroupSpanY { get; set; } = 1;

    /// <summary>
    /// Allows variants whose <c>SharedMemory.Allocate</c> calls add up to more than CUDA's 48 KB of static shared memory
    /// (up to 227 KB; without this such a variant is build error KS0005). Those variants take their allocations from
    /// dynamic shared memory, each on a 16-byte boundary, and their launcher raises the kernel's limit
    /// (<c>cuFuncSetAttribute</c>) before the first launch; a device that allows less refuses the variant when it is
    /// loaded, naming both sizes, and the autotuner goes on with the other candidates. The kernel body is unchanged:
    /// the CPU path and the variants within 48 KB keep their static allocations.
    /// </summary>
    public bool LargeSharedMemory { get; set; }
}

/// <summary>
/// A compile-time constant parameter (block or tile size, head dimension). The generator emits one variant per
/// listed value with the parameter folded into a <c>const</c>; the launcher takes no argument for it and the
/// autotuner picks among the values at run time.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class ConstantAttribute : Attribute
{
    public ConstantAttribute(params int[] values) => Values = values;

    /// <summary>The values to specialize, in order of preference when no tuning data exists.</summary>
    public int[] Values { get; }

    /// <summary>When true every value must be a power of two (checked at build time).</summary>
    public bool PowerOfTwo { get; set; }
}

/// <summary>
/// A run-time shape parameter used for dispatch. The generator emits a variant per listed value (the shape folded
/// to a constant, constant-trip loops unrolled) plus the generic variant that serves any other value.
/// Values may also come from model config files given to the compiler as <c>AdditionalFiles</c>:
/// <c>[Shape(ConfigKey = "hidden_size")]</c> specializes for every <c>hidden_size</c> found in them.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class ShapeAttribute : Attribute
{
    public ShapeAttribute(params int[] values) => Values = values;

    public int[] Values { get; }

    /// <summary>A key of the model config files (AdditionalFiles named <c>*.config.json</c> or <c>config.json</c>).</summary>
    public string? ConfigKey { get; set; }

    /// <summary>
    /// When true this shape is left out of the autotuner's key: every value of it runs with the [Constant]s tuned for
    /// the other shapes. For a shape the caller picks that must not change what a result element is (e.g. a tile of
    /// batch items whose per-item sums must be the same in every tile): tuned constants that change the order of a
    /// sum then stay the same whichever value the caller passes.
    /// </summary>
    public bool SharesTuning { get; set; }
}
