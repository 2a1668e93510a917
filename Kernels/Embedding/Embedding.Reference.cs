namespace KernelSharp.Kernels.Embedding;

/// <summary>Reference of <see cref="EmbeddingKernels"/>: output row t = table row ids[t].</summary>
public static class EmbeddingReference
{
    /// <summary>table: [vocab, hidden] decoded values; ids: [tokens]; returns [tokens, hidden].</summary>
    public static double[] Gather(double[] table, int hidden, int[] ids)
    {
        var output = new double[(long)ids.Length * hidden];
        for (int t = 0; t < ids.Length; t++)
        {
            Array.Copy(table, (long)ids[t] * hidden, output, (long)t * hidden, hidden);
        }
        return output;
    }
}
