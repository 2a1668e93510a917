using System.Runtime.InteropServices;
using System.Text;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// Decodes generated ids one at a time. A character may be split over several byte-level tokens (an emoji is often
/// two or three), so the bytes of an unfinished UTF-8 sequence are held back until the token that completes them
/// arrives. Everything returned by <see cref="Push"/> and then <see cref="Flush"/> equals
/// <see cref="BpeTokenizer.Decode"/> of all the ids at once. Not thread-safe: one decoder per stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly BpeTokenizer tokenizer;
    private readonly bool skipSpecialTokens;
    private readonly List<byte> pending = new(16); // bytes not yet returned: at most an unfinished UTF-8 sequence between calls

    internal StreamingDecoder(BpeTokenizer tokenizer, bool skipSpecialTokens)
    {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one token and returns the text it completes (possibly empty).</summary>
    public string Push(int id)
    {
        tokenizer.AppendTokenBytes(id, skipSpecialTokens, pending);
        int complete = CompletePrefixLength(CollectionsMarshal.AsSpan(pending));
        return Take(complete);
    }

    /// <summary>Returns whatever is still held back (an unfinished sequence decodes to U+FFFD) and empties the decoder.</summary>
    public string Flush() => Take(pending.Count);

    /// <summary>Forgets any held-back bytes, to start a new stream.</summary>
    public void Reset() => pending.Clear();

    private string Take(int count)
    {
        if (count == 0)
        {
            return string.Empty;
        }

        string text = Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(pending)[..count]);
        pending.RemoveRange(0, count);
        return text;
    }

    /// <summary>
    /// The length of <paramref name="bytes"/> without a trailing sequence that is a valid but unfinished UTF-8 character.
    /// Anything else (complete characters, or bytes that can never become valid) may be decoded now: a UTF-8 decoder
    /// that replaces each maximal invalid subpart with U+FFFD gives the same result on the parts as on the whole then.
    /// </summary>
    internal static int CompletePrefixLength(ReadOnlySpan<byte> bytes)
    {
        int length = bytes.Length;
        for (int back = 1; back <= Math.Min(3, length); back++)
        {
            byte b = bytes[length - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // a continuation byte: look further back for its lead byte
            }

            int needed = b switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 0, // ASCII or a byte that never starts a sequence
            };
            if (needed <= back || !IsValidPrefix(bytes[(length - back)..]))
            {
                return length;
            }

            return length - back;
        }

        return length;
    }

    // True when the lead byte's first continuation byte is in its allowed range (which excludes overlong forms,
    // surrogates and values above U+10FFFF) and all later bytes are continuation bytes.
    private static bool IsValidPrefix(ReadOnlySpan<byte> sequence)
    {
        if (sequence.Length < 2)
        {
            return true;
        }

        byte lead = sequence[0];
        byte second = sequence[1];
        bool secondValid = lead switch
        {
            0xE0 => second is >= 0xA0 and <= 0xBF,
            0xED => second is >= 0x80 and <= 0x9F,
            0xF0 => second is >= 0x90 and <= 0xBF,
            0xF4 => second is >= 0x80 and <= 0x8F,
            _ => (second & 0xC0) == 0x80,
        };
        if (!secondValid)
        {
            return false;
        }

        foreach (byte b in sequence[2..])
        {
            if ((b & 0xC0) != 0x80)
            {
                return false;
            }
        }

        return true;
    }
}
