using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>Token embedding: model.embed_tokens.weight [V, H].</summary>
internal sealed class Embedding(IModelBackend backend, WeightLoader weights, ModelConfig config)
{
    // fp32 even on a native-weight backend: a lookup reads T rows, so the table's format costs memory, not time.
    private readonly Tensor weight = weights.Fp32Matrix("model.embed_tokens.weight", config.VocabSize, config.HiddenSize); // [V, H]
    private readonly int vocabSize = config.VocabSize;

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

        return backend.GatherRows(weight, tokens);
    }
}
