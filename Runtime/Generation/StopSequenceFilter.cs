using System.Text;

namespace KernelSharp.Runtime.Generation;

/// <summary>
/// Sits between the token stream and the user: passes text through, but holds back any tail that could
/// still grow into a stop sequence, and cuts the text right before a stop sequence once it appears.
/// </summary>
public sealed class StopSequenceFilter
{
    private readonly IReadOnlyList<string> stopSequences;
    private readonly StringBuilder pending = new();

    public StopSequenceFilter(IReadOnlyList<string> stopSequences)
    {
        this.stopSequences = stopSequences.Where(s => s.Length > 0).ToArray();
    }

    /// <summary>True once a stop sequence was seen; later input is ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns what is now safe to show (possibly empty).</summary>
    public string Push(string text)
    {
        if (Stopped)
        {
            return string.Empty;
        }
        pending.Append(text);
        string buffered = pending.ToString();

        int stopAt = FirstStopIndex(buffered);
        if (stopAt >= 0)
        {
            Stopped = true;
            pending.Clear();
            return buffered[..stopAt];
        }

        int holdBack = LongestSuffixThatStartsAStop(buffered);
        pending.Clear().Append(buffered, buffered.Length - holdBack, holdBack);
        return buffered[..^holdBack];
    }

    /// <summary>Releases held-back text at the end of generation (it never became a stop sequence).</summary>
    public string Flush()
    {
        string rest = Stopped ? string.Empty : pending.ToString();
        pending.Clear();
        return rest;
    }

    private int FirstStopIndex(string text)
    {
        int first = -1;
        foreach (string stop in stopSequences)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }
        return first;
    }

    private int LongestSuffixThatStartsAStop(string text)
    {
        int longest = 0;
        foreach (string stop in stopSequences)
        {
            for (int length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
