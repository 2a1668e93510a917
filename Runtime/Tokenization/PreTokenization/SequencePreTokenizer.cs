namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary><c>{"type": "Sequence", "pretokenizers": [...]}</c>: the steps applied one after another.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<PreTokenizer> steps) : PreTokenizer
{
    public override void PreTokenize(List<ReadOnlyMemory<int>> pieces)
    {
        foreach (PreTokenizer step in steps)
        {
            step.PreTokenize(pieces);
        }
    }
}
