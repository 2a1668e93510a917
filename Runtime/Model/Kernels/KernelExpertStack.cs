using KernelSharp.Kernels.Formats;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// One MoE layer's routed experts stacked in their checkpoint format, the layout of Kernels/Moe/GroupedExpertFfn:
/// gate and up [E, I, H], down [E, H, I] (bf16 bits or e4m3), FP8 block scales [E, ceil(rows/128), ceil(cols/128)].
/// Each expert's matrices are also <see cref="KernelWeight"/> slices of the stacks, so the per-expert path needs no copy.
/// Owns the stacked buffers for the backend's lifetime (like every weight).
/// </summary>
internal sealed class KernelExpertStack
{
    private KernelExpertStack(NativeMatrixFormat format, int experts, int hidden, int intermediate)
    {
        Format = format;
        ExpertCount = experts;
        Hidden = hidden;
        Intermediate = intermediate;
    }

    public NativeMatrixFormat Format { get; }

    public int ExpertCount { get; }

    public int Hidden { get; }

    public int Intermediate { get; }

    /// <summary>The stacked matrices (gate, up, down) as one stack each: [E, I, H], [E, I, H], [E, H, I].</summary>
    public KernelWeight Gate { get; private set; } = null!;

    public KernelWeight Up { get; private set; } = null!;

    public KernelWeight Down { get; private set; } = null!;

    /// <summary>Per expert, its gate / up / down as slices of the stacks.</summary>
    public FeedForwardWeights[] Experts { get; private set; } = [];

    /// <summary>Stacks <paramref name="gates"/>, <paramref name="ups"/> [I, H] and <paramref name="downs"/> [H, I] (one per expert, one format).</summary>
    public static KernelExpertStack Upload(KernelStorage storage, IReadOnlyList<NativeMatrix> gates, IReadOnlyList<NativeMatrix> ups, IReadOnlyList<NativeMatrix> downs)
    {
        var experts = gates.Count;
        if (experts == 0 || ups.Count != experts || downs.Count != experts)
        {
            throw new ArgumentException($"an expert stack needs one gate, up and down per expert (got {gates.Count}, {ups.Count}, {downs.Count})");
        }

        var format = gates[0].Format;
        int intermediate = gates[0].Rows, hidden = gates[0].Columns;
        foreach (var matrix in gates.Concat(ups).Concat(downs))
        {
            KernelWeight.Validate(matrix);
            if (matrix.Format != format)
            {
                throw new ArgumentException($"expert matrices mix {format} and {matrix.Format}");
            }
        }

        if (gates.Concat(ups).Any(m => m.Rows != intermediate || m.Columns != hidden) || downs.Any(m => m.Rows != hidden || m.Columns != intermediate))
        {
            throw new ArgumentException($"every expert needs gate/up [{intermediate}, {hidden}] and down [{hidden}, {intermediate}]");
        }

        var stack = new KernelExpertStack(format, experts, hidden, intermediate);
        stack.Gate = StackOf(storage, stack, gates);
        stack.Up = StackOf(storage, stack, ups);
        stack.Down = StackOf(storage, stack, downs);
        stack.Experts = Enumerable.Range(0, experts)
            .Select(e => new FeedForwardWeights(stack.Slice(stack.Gate, e), stack.Slice(stack.Up, e), stack.Slice(stack.Down, e)))
            .ToArray();
        return stack;
    }

    /// <summary>True when <paramref name="experts"/> are exactly this stack's experts, in order (the grouped kernels index the stack by expert id).</summary>
    public bool Holds(IReadOnlyList<FeedForwardWeights> experts)
    {
        if (experts.Count != ExpertCount)
        {
            return false;
        }

        for (var e = 0; e < experts.Count; e++)
        {
            if (!ReferenceEquals(experts[e].Gate, Experts[e].Gate) || !ReferenceEquals(experts[e].Up, Experts[e].Up) || !ReferenceEquals(experts[e].Down, Experts[e].Down))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The matrices one after another in one device buffer (and their scales in another): [E, rows, cols], [E, scaleRows, scaleCols].
    /// Each expert streams from its checkpoint bytes into its slice of the stack, so a stack of any size (256 real-width
    /// experts: 3.76 G codes) needs no host array beyond the small scale grids.
    /// </summary>
    private static KernelWeight StackOf(KernelStorage storage, KernelExpertStack stack, IReadOnlyList<NativeMatrix> matrices)
    {
        var first = matrices[0];
        long matrixLength = (long)first.Rows * first.Columns;
        long stackedRows = (long)first.Rows * matrices.Count;
        if (stackedRows > int.MaxValue)
        {
            throw new ArgumentException($"{matrices.Count} experts of [{first.Rows}, {first.Columns}] stack to {stackedRows} rows, more than one weight holds ({int.MaxValue})");
        }

        if (stack.Format == NativeMatrixFormat.Bf16)
        {
            var bits = storage.DedicatedBuffer<ushort>(matrixLength * matrices.Count); // [E, rows, cols]
            for (var e = 0; e < matrices.Count; e++)
            {
                storage.CopyWeightInto(bits.View, e * matrixLength * sizeof(ushort), matrices[e].Values);
            }

            return new KernelWeight<Bf16Rows>((int)stackedRows, first.Columns, stack.Format, new Bf16Rows(bits.View), null, 0, bits);
        }

        long scaleLength = (long)first.ScaleRows * first.ScaleColumns;
        var codes = storage.DedicatedBuffer<byte>(matrixLength * matrices.Count); // [E, rows, cols]
        var scales = new float[scaleLength * matrices.Count];                      // [E, scaleRows, scaleCols]: 1/16384 of the codes
        for (var e = 0; e < matrices.Count; e++)
        {
            storage.CopyWeightInto(codes.View, e * matrixLength, matrices[e].Values);
            Array.Copy(matrices[e].ScaleInv!, 0, scales, e * scaleLength, scaleLength);
        }

        var scaleBuffer = storage.Upload(scales);
        // As one matrix the stack has E·rows rows, but its scale grid restarts per expert: only the grouped kernels read it whole.
        return new KernelWeight<Fp8BlockRows>((int)stackedRows, first.Columns, stack.Format, new Fp8BlockRows(codes.View, scaleBuffer.View), null, 0,
            codes, scaleBuffer);
    }

    /// <summary>Expert <paramref name="expert"/>'s matrix [rows, cols] as a view of <paramref name="stacked"/> (with its own scale grid).</summary>
    private KernelWeight Slice(KernelWeight stacked, int expert) => stacked.Slice(this, expert, stacked.Rows / ExpertCount);
}
