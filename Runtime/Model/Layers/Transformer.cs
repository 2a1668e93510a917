using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Distributed;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// The whole network: embed_tokens → layers 0..num_hidden_layers-1 → norm → lm_head. The multi-token-prediction
/// layer stored at index num_hidden_layers is not part of inference and is never read.
/// </summary>
internal sealed class Transformer
{
    private readonly IModelBackend backend;
    private readonly Embedding embedding;   // model.embed_tokens [V, H]
    private readonly RotaryEmbedding rotary;
    private readonly Block[] layers;        // model.layers.{i}
    private readonly RmsNorm norm;          // model.norm [H]
    private readonly Tensor head;           // lm_head [V, H], or this rank's vocabulary rows of it
    private readonly ModelParallelism parallelism;
    private readonly int vocabSize;
    private readonly int firstVocabRow;

    public Transformer(IModelBackend backend, WeightLoader weights, ModelConfig config, ModelParallelism parallelism)
    {
        this.backend = backend;
        this.parallelism = parallelism;
        embedding = new Embedding(backend, weights, config, parallelism);
        rotary = new RotaryEmbedding(backend, config);
        layers = new Block[config.NumHiddenLayers];
        for (var i = 0; i < layers.Length; i++)
        {
            layers[i] = new Block(backend, weights, config, i, parallelism);
        }

        norm = new RmsNorm(backend, weights, "model.norm", config.HiddenSize, config.RmsNormEps);
        var headName = config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
        vocabSize = config.VocabSize;
        (firstVocabRow, var headRows) = parallelism.Plan.Vocabulary(config.VocabSize);
        // A rank's vocabulary rows, in the stored format where the backend keeps it (bf16 rows; FP8 on whole scale blocks).
        head = weights.MatrixRows(headName, config.VocabSize, config.HiddenSize, firstVocabRow, headRows);
    }

    /// <summary>x [rows, H] → logits [rows, V]; split over ranks, each computes its vocabulary columns and they are gathered.</summary>
    private Tensor Head(Tensor x)
    {
        if (!parallelism.Exchanges)
        {
            return backend.Linear(x, head);
        }

        using var mine = backend.Linear(x, head); // [rows, this rank's share of V]
        return parallelism.AllGatherColumns(mine, vocabSize, firstVocabRow);
    }

    /// <summary>Tensors read from the checkpoint for <paramref name="config"/> (for load progress).</summary>
    public static int TensorCount(ModelConfig config)
    {
        var attention = 7 + 5;                          // MLA projections and norms + indexer (wq_b, wk, k_norm ×2, weights_proj)
        var dense = 2 + attention + 3;                  // two norms + attention + gate/up/down
        var moe = 2 + attention + 2 + (3 * config.NRoutedExperts) + (config.NSharedExperts > 0 ? 3 : 0);
        var denseLayers = Math.Min(config.FirstKDenseReplace, config.NumHiddenLayers);
        return 3 + (denseLayers * dense) + ((config.NumHiddenLayers - denseLayers) * moe);
    }

    /// <summary>
    /// tokens [T] (the batch's rows in order) → logits [T, V], or [B, V] for the last row of each sequence when
    /// <paramref name="allRows"/> is false. Each row's keys enter its sequence's cache; the caller commits the batch afterwards.
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> tokens, ForwardBatch batch, bool allRows, ForwardTrace? trace)
    {
        using var h = embedding.Forward(tokens);                         // [T, H]
        trace?.LayerOutputs.Add(backend.Download(h));
        var (cos, sin) = rotary.Table(batch.Positions.ToArray());        // [T, rope/2] each
        Tensor? pending = null;                                          // [T, H] the last FFN output, not yet added to h
        using (cos)
        using (sin)
        {
            for (var i = 0; i < layers.Length; i++)
            {
                pending = layers[i].Forward(h, pending, cos, sin, batch.Segments(i), trace);
                if (trace is not null)
                {
                    // the trace records complete layer outputs: add now instead of inside the next norm
                    backend.AddInPlace(h, pending);
                    pending.Dispose();
                    pending = null;
                    trace.LayerOutputs.Add(backend.Download(h));
                }
            }
        }

        using var normed = norm.Forward(h, pending);                     // h += pending; [T, H]
        pending?.Dispose();
        if (trace is not null)
        {
            trace.FinalNormed = backend.Download(normed);
        }

        if (allRows)
        {
            return Head(normed);                                         // [T, V]
        }

        // prefill that only continues the sequence: the vocabulary projection of the last row is all that is needed
        // (for a long prompt, T × V logits would dwarf the model); decode rows are last rows already.
        using var last = backend.GatherRows(normed, batch.LastRows);     // [B, H]
        return Head(last);                                               // [B, V]
    }
}
