namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// GPT-2's reversible map from the 256 byte values to printable characters, which byte-level BPE vocabularies are
/// written in: printable Latin-1 bytes (<c>!</c>..<c>~</c>, <c>¡</c>..<c>¬</c>, <c>®</c>..<c>ÿ</c>) stand for themselves, the other 68
/// bytes take the code points 256, 257, ... in byte order (so a space is <c>Ġ</c> U+0120 and a newline <c>Ċ</c> U+010A).
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>[256]: the character standing for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    // [324]: the byte a character stands for, or -1; indexed by code point (the alphabet ends below U+0144).
    private static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>The byte <paramref name="c"/> stands for, or -1 when it is not a character of the alphabet.</summary>
    public static int ByteOf(int c) => (uint)c < (uint)CharToByte.Length ? CharToByte[c] : -1;

    private static bool StandsForItself(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            map[b] = StandsForItself(b) ? (char)b : (char)next++;
        }

        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++)
        {
            map[ByteToChar[b]] = (short)b;
        }

        return map;
    }
}
