using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Distributed;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// Token embedding: model.embed_tokens.weight [V, H]. Split over ranks, a rank holds its vocabulary rows; a token's row
/// comes from the rank that holds it (zeros elsewhere) and the sum across ranks assembles every row.
/// </summary>
internal sealed class Embedding
{
    private readonly IModelBackend backend;
    private readonly ModelParallelism parallelism;
    private readonly Tensor weight; // [V or this rank's share, H]
    private readonly int vocabSize;
    private readonly int firstRow;
    private readonly int hidden;

    public Embedding(IModelBackend backend, WeightLoader weights, ModelConfig config, ModelParallelism parallelism)
    {
        this.backend = backend;
        this.parallelism = parallelism;
        vocabSize = config.VocabSize;
        hidden = config.HiddenSize;
        (firstRow, var rows) = parallelism.Plan.Vocabulary(config.VocabSize);
        // fp32 even on a native-weight backend: a lookup reads T rows, so the table's format costs memory, not time;
        // except where the backend gathers rows in place from the mapped checkpoint (no copy at all).
        weight = parallelism.Plan.IsSplit
            ? weights.Fp32Rows("model.embed_tokens.weight", config.VocabSize, config.HiddenSize, firstRow, rows)
            : weights.GatherTable("model.embed_tokens.weight", config.VocabSize, config.HiddenSize);
    }

    /// <summary>tokens [T] → [T, H]. Ids outside the vocabulary are rejected with the id and the vocabulary size.</summary>
    public Tensor Forward(ReadOnlySpan<int> tokens)
    {
        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)vocabSize)
            {
                throw new UserInputException($"token id {token} is outside the vocabulary [0, {vocabSize})");
            }
        }

        if (!parallelism.Exchanges)
        {
            return backend.GatherRows(weight, tokens);
        }

        // This rank's rows for the tokens it holds, zeros for the others; the sum over ranks fills every row.
        var local = new int[tokens.Length];
        var held = new bool[tokens.Length];
        for (var t = 0; t < tokens.Length; t++)
        {
            var row = tokens[t] - firstRow;
            held[t] = (uint)row < (uint)weight.Rows;
            local[t] = held[t] ? row : 0;
        }

        using var gathered = backend.GatherRows(weight, local); // [T, H]
        var values = backend.Download(gathered);
        for (var t = 0; t < tokens.Length; t++)
        {
            if (!held[t])
            {
                values.AsSpan(t * hidden, hidden).Clear();
            }
        }

        using var partial = backend.Upload(values, tokens.Length, hidden);
        return parallelism.AllReduceSum(partial);
    }
}
