using System.Collections.Concurrent;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// The BPE model of a <c>tokenizer.json</c>: a vocabulary and ranked merges. A piece starts as one symbol per character
/// and the adjacent pair with the lowest merge rank is merged until no pair has a merge, leftmost first among equal
/// ranks — the order of <c>tokenizers</c>' <c>Word::merge_all</c>, whose priority queue this reproduces (including
/// how it discards queue entries that a neighbouring merge made stale).
/// </summary>
internal sealed class BpeModel
{
    // Words longer than this are not cached (a pathological piece would otherwise pin memory).
    private const int MaxCachedWordLength = 256;
    private const int MaxCacheEntries = 200_000;

    private readonly IReadOnlyDictionary<string, int> vocab;
    private readonly Dictionary<int, int> singleCharacterIds;        // code point → id of the one-character token
    private readonly Dictionary<long, (int Rank, int NewId)> merges;  // (left id << 32 | right id) → rank, merged id
    private readonly BpeOptions options;
    private readonly int[]? byteFallbackIds;                          // [256] id of "<0xXX>", when byte_fallback is on and all exist
    private readonly ConcurrentDictionary<string, int[]> cache = new();

    public BpeModel(IReadOnlyDictionary<string, int> vocab, Dictionary<long, (int Rank, int NewId)> merges, BpeOptions options)
    {
        this.vocab = vocab;
        this.merges = merges;
        this.options = options;
        if (options.ByteFallback)
        {
            byteFallbackIds = new int[256];
            for (int b = 0; b < 256 && byteFallbackIds is not null; b++)
            {
                if (vocab.TryGetValue($"<0x{b:X2}>", out int id))
                {
                    byteFallbackIds[b] = id;
                }
                else
                {
                    byteFallbackIds = null;
                }
            }
        }

        singleCharacterIds = new Dictionary<int, int>();
        foreach ((string token, int id) in vocab)
        {
            if ((token.Length == 1 && !char.IsSurrogate(token[0])) || (token.Length == 2 && char.IsSurrogatePair(token[0], token[1])))
            {
                singleCharacterIds[char.ConvertToUtf32(token, 0)] = id;
            }
        }
    }

    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public void Tokenize(ReadOnlySpan<int> word, List<int> output)
    {
        if (word.IsEmpty)
        {
            return;
        }

        string text = CodePoints.ToString(word);
        if (text.Length <= MaxCachedWordLength && cache.TryGetValue(text, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }

        int[] ids = TokenizeUncached(text, word);
        if (text.Length <= MaxCachedWordLength)
        {
            if (cache.Count >= MaxCacheEntries)
            {
                cache.Clear();
            }

            cache.TryAdd(text, ids);
        }

        output.AddRange(ids);
    }

    private int[] TokenizeUncached(string text, ReadOnlySpan<int> word)
    {
        if (options.IgnoreMerges && vocab.TryGetValue(text, out int wholeId))
        {
            return [wholeId];
        }

        // Symbols as a doubly linked list over arrays [n]; a merged-away symbol gets alive = false.
        int[] ids = InitialSymbols(word);
        int n = ids.Length;

        if (n <= 1)
        {
            return ids[..n];
        }

        var previous = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++)
        {
            previous[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
        }

        // Entries (position, merged id) ordered by (rank, position): the lowest rank first, then the leftmost.
        var queue = new PriorityQueue<(int Position, int NewId), long>(n);
        for (int i = 0; i + 1 < n; i++)
        {
            if (merges.TryGetValue(PairKey(ids[i], ids[i + 1]), out var merge))
            {
                queue.Enqueue((i, merge.NewId), Priority(merge.Rank, i));
            }
        }

        while (queue.TryDequeue(out var top, out _))
        {
            int position = top.Position;
            if (!alive[position] || next[position] < 0)
            {
                continue;
            }

            int right = next[position];
            // Stale entry: the pair at this position changed since it was queued.
            if (!merges.TryGetValue(PairKey(ids[position], ids[right]), out var current) || current.NewId != top.NewId)
            {
                continue;
            }

            ids[position] = top.NewId;
            alive[right] = false;
            next[position] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = position;
            }

            if (previous[position] >= 0 && merges.TryGetValue(PairKey(ids[previous[position]], ids[position]), out var withPrevious))
            {
                queue.Enqueue((previous[position], withPrevious.NewId), Priority(withPrevious.Rank, previous[position]));
            }

            if (next[position] >= 0 && merges.TryGetValue(PairKey(ids[position], ids[next[position]]), out var withNext))
            {
                queue.Enqueue((position, withNext.NewId), Priority(withNext.Rank, position));
            }
        }

        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i])
        {
            result.Add(ids[i]);
        }

        return [.. result];
    }

    // One symbol per character. A character missing from the vocabulary becomes its UTF-8 bytes as <0xXX> tokens
    // (byte_fallback), else unk_token (consecutive ones fused into one when fuse_unk), else it is dropped — as in tokenizers.
    private int[] InitialSymbols(ReadOnlySpan<int> word)
    {
        var ids = new List<int>(word.Length);
        bool previousWasUnknown = false;
        var utf8 = new List<byte>(4);
        foreach (int cp in word)
        {
            if (singleCharacterIds.TryGetValue(cp, out int id))
            {
                ids.Add(id);
                previousWasUnknown = false;
                continue;
            }

            if (byteFallbackIds is not null)
            {
                utf8.Clear();
                CodePoints.AppendUtf8(cp, utf8);
                foreach (byte b in utf8)
                {
                    ids.Add(byteFallbackIds[b]);
                }

                previousWasUnknown = false;
                continue;
            }

            if (options.UnknownTokenId is int unknown)
            {
                if (!(options.FuseUnknown && previousWasUnknown))
                {
                    ids.Add(unknown);
                }

                previousWasUnknown = true;
            }
        }

        return [.. ids];
    }

    private static long Priority(int rank, int position) => ((long)rank << 32) | (uint)position;
}

/// <summary>The optional switches of a BPE model in tokenizer.json.</summary>
internal sealed record BpeOptions(bool IgnoreMerges, int? UnknownTokenId, bool FuseUnknown, bool ByteFallback);
