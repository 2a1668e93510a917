namespace KernelSharp.Kernels.Indexer;

/// <summary>One lane's two results in <see cref="IndexerWarpKeys"/>: a value for its first key and one for its second (16 keys later).</summary>
public struct KeyPairSums
{
    public float First;
    public float Second;
}
