namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary>
/// One step of Hugging Face's pre-tokenization: it splits (or rewrites) each piece of text into smaller pieces; BPE then
/// runs on each final piece alone. A piece is a run of Unicode scalar values; pieces never span an added token.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>Replaces the contents of <paramref name="pieces"/> with this step's output, in order; empty pieces are dropped.</summary>
    public abstract void PreTokenize(List<ReadOnlyMemory<int>> pieces);
}
