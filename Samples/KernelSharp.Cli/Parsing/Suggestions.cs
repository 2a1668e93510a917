namespace KernelSharp.Cli.Parsing;

/// <summary>"Did you mean": the closest known name to a mistyped one, by edit distance.</summary>
public static class Suggestions
{
    /// <summary>
    /// The candidate nearest to <paramref name="written"/> when it is close enough to be a typo (at most a third of its
    /// letters changed, and at most 2), else null. Ties go to the first candidate, so the answer is stable.
    /// </summary>
    public static string? Closest(string written, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            int distance = EditDistance(written, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        int allowed = Math.Min(2, Math.Max(1, written.Length / 3));
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>" (did you mean X?)" or nothing: the tail of an unknown-name error.</summary>
    public static string DidYouMean(string written, IEnumerable<string> candidates, string prefix = "")
        => Closest(written, candidates) is string match ? $"; did you mean '{prefix}{match}'?" : string.Empty;

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost 1.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }
}
