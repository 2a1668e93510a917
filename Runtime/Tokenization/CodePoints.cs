namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// Conversions between .NET strings (UTF-16) and Unicode scalar values. The tokenizer works on scalar values so that a
/// character outside the Basic Multilingual Plane (an emoji, a math letter) is one unit with one general category.
/// </summary>
internal static class CodePoints
{
    /// <summary>The scalar values of <paramref name="text"/>; a lone surrogate becomes U+FFFD, as UTF-8 encoding would make it.</summary>
    public static int[] FromString(ReadOnlySpan<char> text)
    {
        var result = new int[text.Length];
        int count = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                result[count++] = char.ConvertToUtf32(c, text[i + 1]);
                i++;
            }
            else
            {
                result[count++] = char.IsSurrogate(c) ? 0xFFFD : c;
            }
        }

        return count == result.Length ? result : result[..count];
    }

    public static string ToString(ReadOnlySpan<int> codePoints)
    {
        int length = 0;
        foreach (int cp in codePoints)
        {
            length += cp > 0xFFFF ? 2 : 1;
        }

        Span<char> chars = length <= 256 ? stackalloc char[length] : new char[length];
        int at = 0;
        foreach (int cp in codePoints)
        {
            if (cp > 0xFFFF)
            {
                chars[at++] = (char)(0xD800 + ((cp - 0x10000) >> 10));
                chars[at++] = (char)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            }
            else
            {
                chars[at++] = (char)cp;
            }
        }

        return new string(chars);
    }

    /// <summary>Appends the UTF-8 encoding of one scalar value.</summary>
    public static void AppendUtf8(int cp, List<byte> bytes)
    {
        if (cp < 0x80)
        {
            bytes.Add((byte)cp);
        }
        else if (cp < 0x800)
        {
            bytes.Add((byte)(0xC0 | (cp >> 6)));
            bytes.Add((byte)(0x80 | (cp & 0x3F)));
        }
        else if (cp < 0x10000)
        {
            bytes.Add((byte)(0xE0 | (cp >> 12)));
            bytes.Add((byte)(0x80 | ((cp >> 6) & 0x3F)));
            bytes.Add((byte)(0x80 | (cp & 0x3F)));
        }
        else
        {
            bytes.Add((byte)(0xF0 | (cp >> 18)));
            bytes.Add((byte)(0x80 | ((cp >> 12) & 0x3F)));
            bytes.Add((byte)(0x80 | ((cp >> 6) & 0x3F)));
            bytes.Add((byte)(0x80 | (cp & 0x3F)));
        }
    }
}
