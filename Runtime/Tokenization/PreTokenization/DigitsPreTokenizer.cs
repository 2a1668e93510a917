using System.Globalization;

namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary>
/// <c>{"type": "Digits", "individual_digits": ...}</c>: numeric characters (Rust's <c>char::is_numeric</c>: categories
/// Nd, Nl, No) become pieces of their own, one per digit or one per run.
/// </summary>
internal sealed class DigitsPreTokenizer(bool individualDigits) : PreTokenizer
{
    private readonly SplitPreTokenizer split = new(
        new CharacterSplitPattern(IsNumeric),
        individualDigits ? SplitDelimiterBehavior.Isolated : SplitDelimiterBehavior.Contiguous,
        invert: false);

    public override void PreTokenize(List<ReadOnlyMemory<int>> pieces) => split.PreTokenize(pieces);

    private static bool IsNumeric(int cp) => Patterns.CodePointSet.CategoryOf(cp) is
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}
