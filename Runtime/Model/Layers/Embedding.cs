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
    private readonly Tensor weight; // [V, H], or split: [this rank's share + 1 zero row, H]
    private readonly int vocabSize;
    private readonly int firstRow;

    public Embedding(IModelBackend backend, WeightLoader weights, ModelConfig config, ModelParallelism parallelism)
    {
        this.backend = backend;
        this.parallelism = parallelism;
        vocabSize = config.VocabSize;
        (firstRow, var rows) = parallelism.Plan.Vocabulary(config.VocabSize);
        // fp32 even on a native-weight backend: a lookup reads T rows, so the table's format costs memory, not time;
        // except where the backend gathers rows in place from the mapped checkpoint (no copy at all).
        // A split rank's share ends with one row of zeros, the row of every token another rank holds: the lookup then
        // gives the rank's part of the sum directly, on the device, with no host pass over the rows.
        weight = parallelism.Plan.IsSplit
            ? weights.Fp32RowsAndZeroRow("model.embed_tokens.weight", config.VocabSize, config.HiddenSize, firstRow, rows)
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

        // This rank's rows for the tokens it holds, the zero row for the others; the sum over ranks fills every row.
        var held = parallelism.Plan.IsSplit ? weight.Rows - 1 : weight.Rows;
        var local = new int[tokens.Length];
        for (var t = 0; t < tokens.Length; t++)
        {
            var row = tokens[t] - firstRow;
            local[t] = (uint)row < (uint)held ? row : held; // held = the zero row's index when split (never reached otherwise)
        }

        using var partial = backend.GatherRows(weight, local); // [T, H]
        return parallelism.AllReduceSum(partial);
    }
}
