namespace KernelSharp.Kernels.Indexer;

/// <summary>One lane's two results: a value for its first key and one for its second (16 keys later in <see cref="IndexerWarpKeys"/>, 8 in <see cref="HeadTileSums"/>).</summary>
public struct KeyPairSums
{
    public float First;
    public float Second;
}
