namespace KernelSharp.Runtime.Model;

/// <summary>
/// Optional record of a prefill's intermediate values, for tests and debugging (pass one to
/// <see cref="InferenceSession.Prefill(ReadOnlySpan{int}, ForwardTrace?)"/>). All arrays are row-major host copies.
/// </summary>
public sealed class ForwardTrace
{
    /// <summary>[0]: embeddings; [l+1]: output of layer l (residual stream, before the final norm). Each [T, H].</summary>
    public List<float[]> LayerOutputs { get; } = [];

    /// <summary>Output of the final RMSNorm [T, H] (what Hugging Face reports as the last hidden state).</summary>
    public float[]? FinalNormed { get; internal set; }

    /// <summary>Per layer: keys the indexer selected for each row [T, index_topk], −1 in unused slots (rows with fewer visible keys).</summary>
    public List<int[]> IndexerTopK { get; } = [];

    /// <summary>Per layer: index scores [T, IndexerKeyCount], −∞ where masked (future keys).</summary>
    public List<float[]> IndexerScores { get; } = [];

    /// <summary>Columns of each <see cref="IndexerScores"/> entry (keys visible to the last row).</summary>
    public int IndexerKeyCount { get; internal set; }
}
