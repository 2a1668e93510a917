namespace KernelSharp.Kernels.Rope;

/// <summary>
/// Reference of <see cref="RopeKernels"/>: rotates pairs of the rope slice of every (token, head) by the angle of the
/// token's position, reading the same cos/sin tables as the kernels ([positions, d/2]). Float64 math.
/// x: [tokens, tokenStride] floats; head h's rope slice starts at h·headStride + ropeOffset.
/// </summary>
public static class RopeReference
{
    /// <summary>Interleaved pairs (x[2i], x[2i+1]) rotate by frequency i (MLA, DeepSeek's complex form).</summary>
    public static double[] ApplyInterleaved(float[] x, int[] positions, float[] cos, float[] sin,
        int heads, int tokenStride, int headStride, int ropeOffset, int ropeDim) =>
        Apply(x, positions, cos, sin, heads, tokenStride, headStride, ropeOffset, ropeDim, interleaved: true);

    /// <summary>Half-split pairs (x[i], x[i + d/2]) rotate by frequency i (the indexer, transformers' rotate_half).</summary>
    public static double[] ApplyHalfSplit(float[] x, int[] positions, float[] cos, float[] sin,
        int heads, int tokenStride, int headStride, int ropeOffset, int ropeDim) =>
        Apply(x, positions, cos, sin, heads, tokenStride, headStride, ropeOffset, ropeDim, interleaved: false);

    /// <summary>
    /// Reference of <see cref="RopeKernels.RopeCopyRows"/>: rows [rows, width] gathered from source (row r at
    /// sourceOffset + r·sourceStride) with the slice [ropeOffset, ropeOffset + ropeDim) rotated → [rows, width].
    /// </summary>
    public static double[] CopyRows(float[] source, int sourceStride, long sourceOffset, int rows, int width,
        int[] positions, float[] cos, float[] sin, int ropeOffset, int ropeDim, bool interleaved)
    {
        var packed = new float[(long)rows * width]; // [rows, width]
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(source, sourceOffset + (long)r * sourceStride, packed, (long)r * width, width);
        }
        return Apply(packed, positions, cos, sin, 1, width, width, ropeOffset, ropeDim, interleaved);
    }

    private static double[] Apply(float[] x, int[] positions, float[] cos, float[] sin,
        int heads, int tokenStride, int headStride, int ropeOffset, int ropeDim, bool interleaved)
    {
        var output = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            output[i] = x[i];
        }
        int half = ropeDim / 2;
        for (int t = 0; t < positions.Length; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                long start = (long)t * tokenStride + (long)h * headStride + ropeOffset;
                for (int i = 0; i < half; i++)
                {
                    long first = interleaved ? start + 2 * i : start + i;
                    long second = interleaved ? start + 2 * i + 1 : start + i + half;
                    double c = cos[(long)positions[t] * half + i];
                    double s = sin[(long)positions[t] * half + i];
                    double a = x[first];
                    double b = x[second];
                    output[first] = a * c - b * s;
                    output[second] = b * c + a * s;
                }
            }
        }
        return output;
    }
}
