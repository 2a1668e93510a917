using KernelSharp.Runtime.Tokenization.Patterns;

namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary>
/// <c>{"type": "ByteLevel", "add_prefix_space": ..., "use_regex": ...}</c>: optionally puts a space before each piece that
/// does not start with one, optionally splits with GPT-2's pattern (isolated), then rewrites every piece as its UTF-8 bytes
/// spelled in <see cref="ByteLevelAlphabet"/>, the alphabet the BPE vocabulary is written in.
/// </summary>
internal sealed class ByteLevelPreTokenizer : PreTokenizer
{
    // GPT-2's split pattern, the one tokenizers' ByteLevel uses when use_regex is true.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly Lazy<SplitPreTokenizer> Gpt2Split = new(() =>
        new SplitPreTokenizer(new RegexSplitPattern(CodePointPattern.Compile(Gpt2Pattern)), SplitDelimiterBehavior.Isolated, invert: false));

    private readonly bool addPrefixSpace;
    private readonly bool useRegex;

    public ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
    {
        this.addPrefixSpace = addPrefixSpace;
        this.useRegex = useRegex;
    }

    public override void PreTokenize(List<ReadOnlyMemory<int>> pieces)
    {
        if (addPrefixSpace)
        {
            for (int i = 0; i < pieces.Count; i++)
            {
                if (pieces[i].Length == 0 || pieces[i].Span[0] != ' ')
                {
                    pieces[i] = (int[])[' ', .. pieces[i].Span];
                }
            }
        }

        if (useRegex)
        {
            Gpt2Split.Value.PreTokenize(pieces);
        }

        var bytes = new List<byte>();
        for (int i = 0; i < pieces.Count; i++)
        {
            bytes.Clear();
            foreach (int cp in pieces[i].Span)
            {
                CodePoints.AppendUtf8(cp, bytes);
            }

            var mapped = new int[bytes.Count];
            for (int b = 0; b < mapped.Length; b++)
            {
                mapped[b] = ByteLevelAlphabet.ByteToChar[bytes[b]];
            }

            pieces[i] = mapped;
        }
    }
}
