using KernelSharp.Runtime.Tokenization.Patterns;

namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary>What a split step looks for: a regular expression, a literal string, or a per-character test.</summary>
internal interface ISplitPattern
{
    /// <summary>Appends the matches in <paramref name="text"/> as (start, end) in code-point indices, left to right, not overlapping.</summary>
    void FindMatches(ReadOnlySpan<int> text, List<(int Start, int End)> matches);
}

internal sealed class RegexSplitPattern(CodePointPattern pattern) : ISplitPattern
{
    public void FindMatches(ReadOnlySpan<int> text, List<(int Start, int End)> matches) => pattern.FindMatches(text, matches);
}

/// <summary>A literal string; an empty one never matches.</summary>
internal sealed class LiteralSplitPattern(int[] literal) : ISplitPattern
{
    public void FindMatches(ReadOnlySpan<int> text, List<(int Start, int End)> matches)
    {
        if (literal.Length == 0)
        {
            return;
        }

        int from = 0;
        while (from <= text.Length - literal.Length)
        {
            int found = text[from..].IndexOf(literal);
            if (found < 0)
            {
                return;
            }

            matches.Add((from + found, from + found + literal.Length));
            from += found + literal.Length;
        }
    }
}

/// <summary>Every character passing the test is one match of its own (how <c>tokenizers</c> splits on a char predicate).</summary>
internal sealed class CharacterSplitPattern(Func<int, bool> test) : ISplitPattern
{
    public void FindMatches(ReadOnlySpan<int> text, List<(int Start, int End)> matches)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (test(text[i]))
            {
                matches.Add((i, i + 1));
            }
        }
    }
}
