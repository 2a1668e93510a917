using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>Rotary position embedding applied in place to the rope slice of every head of every row.</summary>
internal static class CpuRope
{
    /// <param name="x">[rows, heads·headDim], modified in place.</param>
    /// <param name="cos">[rows, pairs]: cos of frequency i at the row's position.</param>
    /// <param name="sin">[rows, pairs].</param>
    public static void Apply(float[] x, int rows, int heads, int headDim, int ropeOffset, float[] cos, float[] sin, int pairs, RopeLayout layout)
    {
        var width = heads * headDim;
        for (var t = 0; t < rows; t++)
        {
            var c = cos.AsSpan(t * pairs, pairs);
            var s = sin.AsSpan(t * pairs, pairs);
            for (var h = 0; h < heads; h++)
            {
                var slice = x.AsSpan(t * width + h * headDim + ropeOffset, 2 * pairs);
                for (var i = 0; i < pairs; i++)
                {
                    // Interleaved pairs are neighbours; half-split pairs are i and i + d/2.
                    var (first, second) = layout == RopeLayout.Interleaved ? (2 * i, 2 * i + 1) : (i, i + pairs);
                    var a = slice[first];
                    var b = slice[second];
                    slice[first] = a * c[i] - b * s[i];
                    slice[second] = b * c[i] + a * s[i];
                }
            }
        }
    }
}
