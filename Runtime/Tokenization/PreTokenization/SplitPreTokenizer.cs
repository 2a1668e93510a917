namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary>
/// <c>{"type": "Split", "pattern": {"Regex": ...} | {"String": ...}, "behavior": ..., "invert": ...}</c>: finds the pattern
/// in each piece (the piece is the whole subject: look-ahead and <c>$</c> see its end, not the text's) and cuts the piece
/// according to the behavior, as <c>tokenizers</c>' <c>NormalizedString::split</c> does.
/// </summary>
internal sealed class SplitPreTokenizer(ISplitPattern pattern, SplitDelimiterBehavior behavior, bool invert) : PreTokenizer
{
    public override void PreTokenize(List<ReadOnlyMemory<int>> pieces)
    {
        var output = new List<ReadOnlyMemory<int>>(pieces.Count * 4);
        var matches = new List<(int Start, int End)>();
        var segments = new List<(int Start, int End, bool IsMatch)>();
        foreach (ReadOnlyMemory<int> piece in pieces)
        {
            matches.Clear();
            pattern.FindMatches(piece.Span, matches);
            Segment(piece.Length, matches, invert, segments);
            foreach ((int start, int end) in ApplyBehavior(segments, behavior))
            {
                if (end > start)
                {
                    output.Add(piece[start..end]);
                }
            }
        }

        pieces.Clear();
        pieces.AddRange(output);
    }

    // The whole piece as alternating gaps and matches (flags swapped when inverted).
    private static void Segment(int length, List<(int Start, int End)> matches, bool invert, List<(int Start, int End, bool IsMatch)> segments)
    {
        segments.Clear();
        int previous = 0;
        foreach ((int start, int end) in matches)
        {
            if (previous != start)
            {
                segments.Add((previous, start, invert));
            }

            segments.Add((start, end, !invert));
            previous = end;
        }

        if (previous != length)
        {
            segments.Add((previous, length, invert));
        }
    }

    private static List<(int Start, int End)> ApplyBehavior(List<(int Start, int End, bool IsMatch)> segments, SplitDelimiterBehavior behavior)
    {
        var result = new List<(int Start, int End)>(segments.Count);
        bool previousWasMatch = false;
        switch (behavior)
        {
            case SplitDelimiterBehavior.Isolated:
                foreach (var segment in segments)
                {
                    result.Add((segment.Start, segment.End));
                }

                break;
            case SplitDelimiterBehavior.Removed:
                foreach (var segment in segments)
                {
                    if (!segment.IsMatch)
                    {
                        result.Add((segment.Start, segment.End));
                    }
                }

                break;
            case SplitDelimiterBehavior.MergedWithPrevious:
                foreach (var segment in segments)
                {
                    if (segment.IsMatch && !previousWasMatch && result.Count > 0)
                    {
                        result[^1] = (result[^1].Start, segment.End);
                    }
                    else
                    {
                        result.Add((segment.Start, segment.End));
                    }

                    previousWasMatch = segment.IsMatch;
                }

                break;
            case SplitDelimiterBehavior.MergedWithNext:
                for (int i = segments.Count - 1; i >= 0; i--)
                {
                    var segment = segments[i];
                    if (segment.IsMatch && !previousWasMatch && result.Count > 0)
                    {
                        result[^1] = (segment.Start, result[^1].End);
                    }
                    else
                    {
                        result.Add((segment.Start, segment.End));
                    }

                    previousWasMatch = segment.IsMatch;
                }

                result.Reverse();
                break;
            case SplitDelimiterBehavior.Contiguous:
                foreach (var segment in segments)
                {
                    if (segment.IsMatch == previousWasMatch && result.Count > 0)
                    {
                        result[^1] = (result[^1].Start, segment.End);
                    }
                    else
                    {
                        result.Add((segment.Start, segment.End));
                    }

                    previousWasMatch = segment.IsMatch;
                }

                break;
        }

        return result;
    }
}
