namespace KernelSharp.Runtime.Model.Backend;

/// <summary>Which elements of a rope slice form the rotated pairs (frequency i rotates pair i).</summary>
public enum RopeLayout
{
    /// <summary>Pairs (x[2i], x[2i+1]): MLA's q_pe and k_pe.</summary>
    Interleaved,

    /// <summary>Pairs (x[i], x[i + d/2]): the lightning indexer's q and k.</summary>
    HalfSplit,
}
