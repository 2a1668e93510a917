using System.Text;
using KernelSharp.Runtime.Tokenization.Patterns;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>One entry of <c>added_tokens</c> in tokenizer.json: text matched verbatim before pre-tokenization.</summary>
internal sealed record AddedToken(int Id, string Content, bool SingleWord, bool LeftStrip, bool RightStrip, bool Normalized, bool Special);

/// <summary>A stretch of input text: either an added token (<see cref="TokenId"/> ≥ 0) or ordinary text (-1) for the BPE path.</summary>
internal readonly record struct TextSegment(int Start, int End, int TokenId);

/// <summary>
/// Finds added tokens in text the way <c>tokenizers</c>' <c>AddedVocabulary</c> does: leftmost-longest, non-overlapping
/// matches; a <c>single_word</c> token only where no letter or digit touches it; <c>lstrip</c>/<c>rstrip</c> swallow the
/// whitespace beside the token into it. The tokenizer runs one matcher for the tokens with <c>normalized: false</c> on the
/// raw text and another for the rest on the pieces left over.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly TrieNode root = new();

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        foreach (AddedToken token in tokens)
        {
            if (token.Content.Length == 0)
            {
                continue;
            }

            TrieNode node = root;
            foreach (char c in token.Content)
            {
                node.Children ??= new Dictionary<char, TrieNode>();
                if (!node.Children.TryGetValue(c, out TrieNode? child))
                {
                    child = new TrieNode();
                    node.Children[c] = child;
                }

                node = child;
            }

            node.Token ??= token; // the first entry with a given content wins
        }
    }

    public bool IsEmpty => root.Children is null;

    /// <summary>Splits text[start..end) (treated as a whole sentence) into added tokens and the ordinary text between them.</summary>
    public void Split(string text, int start, int end, List<TextSegment> output)
    {
        if (IsEmpty)
        {
            output.Add(new TextSegment(start, end, -1));
            return;
        }

        int emitted = start;  // text before this index has been output
        int scan = start;
        while (scan < end)
        {
            (AddedToken? token, int matchEnd) = LongestAt(text, scan, end);
            if (token is null)
            {
                scan++;
                continue;
            }

            int matchStart = scan;
            scan = matchEnd; // matches never overlap, even when this one is rejected below
            if (token.SingleWord && (TouchesWordBefore(text, start, matchStart) || TouchesWordAfter(text, matchEnd, end)))
            {
                continue;
            }

            if (token.LeftStrip)
            {
                while (matchStart > emitted && CodePointSet.IsWhiteSpace(text[matchStart - 1]))
                {
                    matchStart--;
                }
            }

            if (token.RightStrip)
            {
                while (matchEnd < end && CodePointSet.IsWhiteSpace(text[matchEnd]))
                {
                    matchEnd++;
                }

                scan = matchEnd;
            }

            if (emitted < matchStart)
            {
                output.Add(new TextSegment(emitted, matchStart, -1));
            }

            output.Add(new TextSegment(matchStart, matchEnd, token.Id));
            emitted = matchEnd;
        }

        if (emitted < end)
        {
            output.Add(new TextSegment(emitted, end, -1));
        }
    }

    private (AddedToken? Token, int End) LongestAt(string text, int position, int end)
    {
        TrieNode node = root;
        AddedToken? best = null;
        int bestEnd = position;
        for (int i = position; i < end && node.Children is not null && node.Children.TryGetValue(text[i], out TrieNode? child); i++)
        {
            node = child;
            if (node.Token is not null)
            {
                best = node.Token;
                bestEnd = i + 1;
            }
        }

        return (best, bestEnd);
    }

    // Rust's char::is_alphanumeric (letters and numbers) on the character just before / after the match.
    private static bool TouchesWordBefore(string text, int sentenceStart, int index) =>
        index > sentenceStart && Rune.DecodeLastFromUtf16(text.AsSpan(sentenceStart, index - sentenceStart), out Rune rune, out _) == System.Buffers.OperationStatus.Done
            && IsAlphanumeric(rune);

    private static bool TouchesWordAfter(string text, int index, int sentenceEnd) =>
        index < sentenceEnd && Rune.DecodeFromUtf16(text.AsSpan(index, sentenceEnd - index), out Rune rune, out _) == System.Buffers.OperationStatus.Done
            && IsAlphanumeric(rune);

    private static bool IsAlphanumeric(Rune rune) => Rune.GetUnicodeCategory(rune) is
        System.Globalization.UnicodeCategory.UppercaseLetter or System.Globalization.UnicodeCategory.LowercaseLetter
        or System.Globalization.UnicodeCategory.TitlecaseLetter or System.Globalization.UnicodeCategory.ModifierLetter
        or System.Globalization.UnicodeCategory.OtherLetter or System.Globalization.UnicodeCategory.DecimalDigitNumber
        or System.Globalization.UnicodeCategory.LetterNumber or System.Globalization.UnicodeCategory.OtherNumber;

    private sealed class TrieNode
    {
        public Dictionary<char, TrieNode>? Children;
        public AddedToken? Token;
    }
}
