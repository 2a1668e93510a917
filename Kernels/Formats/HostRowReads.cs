using System.Runtime.CompilerServices;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// Row reads for host twins of kernel helpers (the generated CPU path only). <see cref="F32Rows.Elements4"/> goes
/// through <see cref="KsVector.LoadFloat4"/>, whose CPU body is substituted only in kernel bodies: called from a helper,
/// its GPU body runs on the host, where ILGPU's view casts look up error-message resources under a lock on every call.
/// </summary>
public static class HostRowReads
{
    /// <summary>The same four values as <see cref="IRowFormat{TSelf}.Elements4"/>, fp32 rows read as a span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float4 Elements4<TRows>(TRows rows, int row, int cols, int col)
        where TRows : struct, IRowFormat<TRows>
    {
        if (typeof(TRows) == typeof(F32Rows))
        {
            var four = HostSpan.Of(Unsafe.As<TRows, F32Rows>(ref rows).Values, (long)row * cols + col, 4);
            return new Float4(four[0], four[1], four[2], four[3]);
        }
        return rows.Elements4(row, cols, col);
    }
}
