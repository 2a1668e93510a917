using System.Globalization;

namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>
/// A set of Unicode scalar values (one character class of a pattern). Membership is decided on whole code points,
/// never on UTF-16 units, which is why <c>\p{S}</c> matches an emoji here while .NET's Regex does not.
/// The Basic Multilingual Plane is cached as a bitmap; the other planes ask the predicate.
/// </summary>
internal sealed class CodePointSet
{
    private const int BmpSize = 0x10000;

    // [1024] ulong: bit (cp & 63) of word (cp >> 6) is set when code point cp < 0x10000 is in the set.
    private readonly ulong[] bmpBits = new ulong[BmpSize / 64];
    private readonly Func<int, bool> predicate;

    public CodePointSet(Func<int, bool> predicate)
    {
        this.predicate = predicate;
        for (int cp = 0; cp < BmpSize; cp++)
        {
            if (predicate(cp))
            {
                bmpBits[cp >> 6] |= 1UL << (cp & 63);
            }
        }
    }

    public bool Contains(int codePoint) =>
        (uint)codePoint < BmpSize ? ((bmpBits[codePoint >> 6] >> (codePoint & 63)) & 1) != 0 : predicate(codePoint);

    /// <summary>The predicate itself (uncached); used to combine sets into new ones.</summary>
    public Func<int, bool> Predicate => predicate;

    // Oniguruma's \s with Unicode: the White_Space property (which .NET's char.IsWhiteSpace also follows).
    public static bool IsWhiteSpace(int cp) =>
        cp is >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    public static UnicodeCategory CategoryOf(int cp) =>
        (uint)cp <= 0x10FFFF ? CharUnicodeInfo.GetUnicodeCategory(cp) : UnicodeCategory.OtherNotAssigned;

    // Oniguruma's \w with Unicode: letters, marks, decimal digits and connector punctuation.
    public static bool IsWordCharacter(int cp) =>
        CategoryOf(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
            _ => false,
        };
}
