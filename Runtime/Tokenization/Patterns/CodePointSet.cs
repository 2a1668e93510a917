using System.Globalization;
using System.Text;

namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>
/// A set of Unicode scalar values (one character class of a pattern). Membership is decided on whole code points,
/// never on UTF-16 units, which is why <c>\p{S}</c> matches an emoji here while .NET's Regex does not.
/// The Basic Multilingual Plane is a bitmap (built with word-wide operations from per-category tables, so compiling a
/// pattern stays cheap); code points above it ask a predicate.
/// </summary>
internal sealed class CodePointSet
{
    private const int BmpSize = 0x10000;
    private const int Words = BmpSize / 64;

    // [30][1024]: the BMP bitmap of each general category, built once per process.
    private static readonly Lazy<ulong[][]> CategoryBitmaps = new(BuildCategoryBitmaps);

    // [1024] ulong: bit (cp & 63) of word (cp >> 6) is set when code point cp < 0x10000 is in the set.
    private readonly ulong[] bmpBits;
    private readonly Func<int, bool> beyondBmp; // membership of code points ≥ 0x10000

    private CodePointSet(ulong[] bmpBits, Func<int, bool> beyondBmp)
    {
        this.bmpBits = bmpBits;
        this.beyondBmp = beyondBmp;
    }

    public bool Contains(int codePoint) =>
        (uint)codePoint < BmpSize ? ((bmpBits[codePoint >> 6] >> (codePoint & 63)) & 1) != 0 : beyondBmp(codePoint);

    public static CodePointSet Single(int codePoint) => Range(codePoint, codePoint);

    public static CodePointSet Range(int low, int high)
    {
        var bits = new ulong[Words];
        for (int cp = low; cp <= Math.Min(high, BmpSize - 1); cp++)
        {
            bits[cp >> 6] |= 1UL << (cp & 63);
        }

        return new CodePointSet(bits, cp => cp >= low && cp <= high);
    }

    /// <summary>The code points whose general category is in <paramref name="categories"/>.</summary>
    public static CodePointSet Categories(IEnumerable<UnicodeCategory> categories)
    {
        int mask = 0;
        var bits = new ulong[Words];
        foreach (UnicodeCategory category in categories)
        {
            mask |= 1 << (int)category;
            ulong[] table = CategoryBitmaps.Value[(int)category];
            for (int w = 0; w < Words; w++)
            {
                bits[w] |= table[w];
            }
        }

        return new CodePointSet(bits, cp => ((1 << (int)CategoryOf(cp)) & mask) != 0);
    }

    /// <summary>Oniguruma's <c>\s</c> with Unicode: the White_Space property (all of it is in the BMP).</summary>
    public static CodePointSet WhiteSpace { get; } = FromPredicate(IsWhiteSpace);

    /// <summary>Oniguruma's <c>\w</c> with Unicode: letters, marks, decimal digits and connector punctuation.</summary>
    public static CodePointSet Word { get; } = Categories(
    [
        UnicodeCategory.UppercaseLetter, UnicodeCategory.LowercaseLetter, UnicodeCategory.TitlecaseLetter, UnicodeCategory.ModifierLetter,
        UnicodeCategory.OtherLetter, UnicodeCategory.NonSpacingMark, UnicodeCategory.SpacingCombiningMark, UnicodeCategory.EnclosingMark,
        UnicodeCategory.DecimalDigitNumber, UnicodeCategory.ConnectorPunctuation,
    ]);

    public static CodePointSet DecimalDigit { get; } = Categories([UnicodeCategory.DecimalDigitNumber]);

    public static CodePointSet HexDigit { get; } = Union([Range('0', '9'), Range('a', 'f'), Range('A', 'F')]);

    public static CodePointSet All { get; } = Range(0, 0x10FFFF);

    /// <summary>A set given by a test on each code point (evaluated for the whole BMP once).</summary>
    public static CodePointSet FromPredicate(Func<int, bool> predicate)
    {
        var bits = new ulong[Words];
        for (int cp = 0; cp < BmpSize; cp++)
        {
            if (predicate(cp))
            {
                bits[cp >> 6] |= 1UL << (cp & 63);
            }
        }

        return new CodePointSet(bits, predicate);
    }

    public static CodePointSet Union(IReadOnlyList<CodePointSet> sets)
    {
        if (sets.Count == 1)
        {
            return sets[0];
        }

        var bits = new ulong[Words];
        foreach (CodePointSet set in sets)
        {
            for (int w = 0; w < Words; w++)
            {
                bits[w] |= set.bmpBits[w];
            }
        }

        CodePointSet[] members = [.. sets];
        return new CodePointSet(bits, cp =>
        {
            foreach (CodePointSet member in members)
            {
                if (member.beyondBmp(cp))
                {
                    return true;
                }
            }

            return false;
        });
    }

    public CodePointSet Negate()
    {
        var bits = new ulong[Words];
        for (int w = 0; w < Words; w++)
        {
            bits[w] = ~bmpBits[w];
        }

        Func<int, bool> inner = beyondBmp;
        return new CodePointSet(bits, cp => !inner(cp));
    }

    /// <summary>For <c>(?i)</c>: also contains every code point whose simple lower- or upper-case form is in this set.</summary>
    public CodePointSet WithCaseVariants() => FromPredicate(cp =>
    {
        if (Contains(cp))
        {
            return true;
        }

        if ((uint)cp > 0x10FFFF || cp is >= 0xD800 and <= 0xDFFF)
        {
            return false;
        }

        var rune = new Rune(cp);
        return Contains(Rune.ToLowerInvariant(rune).Value) || Contains(Rune.ToUpperInvariant(rune).Value);
    });

    public static bool IsWhiteSpace(int cp) =>
        cp is >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    public static UnicodeCategory CategoryOf(int cp) =>
        (uint)cp <= 0x10FFFF ? CharUnicodeInfo.GetUnicodeCategory(cp) : UnicodeCategory.OtherNotAssigned;

    private static ulong[][] BuildCategoryBitmaps()
    {
        var tables = new ulong[32][];
        for (int c = 0; c < tables.Length; c++)
        {
            tables[c] = new ulong[Words];
        }

        for (int cp = 0; cp < BmpSize; cp++)
        {
            tables[(int)CharUnicodeInfo.GetUnicodeCategory(cp)][cp >> 6] |= 1UL << (cp & 63);
        }

        return tables;
    }
}
