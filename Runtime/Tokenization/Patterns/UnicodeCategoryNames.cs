using System.Globalization;
using static System.Globalization.UnicodeCategory;

namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>The general-category names a pattern may use in <c>\p{..}</c> (one- and two-letter short names and the long ones).</summary>
internal static class UnicodeCategoryNames
{
    private static readonly Dictionary<string, UnicodeCategory[]> Categories = Build();

    /// <summary>The categories named by <paramref name="name"/>, or null when the name is not a general category.</summary>
    public static UnicodeCategory[]? Lookup(string name) =>
        Categories.TryGetValue(name.Replace("_", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal), out var found)
            ? found
            : null;

    private static Dictionary<string, UnicodeCategory[]> Build()
    {
        var map = new Dictionary<string, UnicodeCategory[]>(StringComparer.OrdinalIgnoreCase);
        void Add(UnicodeCategory[] categories, params string[] names)
        {
            foreach (string name in names)
            {
                map[name] = categories;
            }
        }

        Add([UppercaseLetter, LowercaseLetter, TitlecaseLetter, ModifierLetter, OtherLetter], "L", "Letter");
        Add([UppercaseLetter], "Lu", "UppercaseLetter");
        Add([LowercaseLetter], "Ll", "LowercaseLetter");
        Add([TitlecaseLetter], "Lt", "TitlecaseLetter");
        Add([ModifierLetter], "Lm", "ModifierLetter");
        Add([OtherLetter], "Lo", "OtherLetter");
        Add([NonSpacingMark, SpacingCombiningMark, EnclosingMark], "M", "Mark", "CombiningMark");
        Add([NonSpacingMark], "Mn", "NonspacingMark");
        Add([SpacingCombiningMark], "Mc", "SpacingMark");
        Add([EnclosingMark], "Me", "EnclosingMark");
        Add([DecimalDigitNumber, LetterNumber, OtherNumber], "N", "Number");
        Add([DecimalDigitNumber], "Nd", "DecimalNumber", "Digit");
        Add([LetterNumber], "Nl", "LetterNumber");
        Add([OtherNumber], "No", "OtherNumber");
        Add([ConnectorPunctuation, DashPunctuation, OpenPunctuation, ClosePunctuation, InitialQuotePunctuation, FinalQuotePunctuation, OtherPunctuation], "P", "Punctuation", "Punct");
        Add([ConnectorPunctuation], "Pc", "ConnectorPunctuation");
        Add([DashPunctuation], "Pd", "DashPunctuation");
        Add([OpenPunctuation], "Ps", "OpenPunctuation");
        Add([ClosePunctuation], "Pe", "ClosePunctuation");
        Add([InitialQuotePunctuation], "Pi", "InitialPunctuation");
        Add([FinalQuotePunctuation], "Pf", "FinalPunctuation");
        Add([OtherPunctuation], "Po", "OtherPunctuation");
        Add([MathSymbol, CurrencySymbol, ModifierSymbol, OtherSymbol], "S", "Symbol");
        Add([MathSymbol], "Sm", "MathSymbol");
        Add([CurrencySymbol], "Sc", "CurrencySymbol");
        Add([ModifierSymbol], "Sk", "ModifierSymbol");
        Add([OtherSymbol], "So", "OtherSymbol");
        Add([SpaceSeparator, LineSeparator, ParagraphSeparator], "Z", "Separator");
        Add([SpaceSeparator], "Zs", "SpaceSeparator");
        Add([LineSeparator], "Zl", "LineSeparator");
        Add([ParagraphSeparator], "Zp", "ParagraphSeparator");
        Add([Control, Format, Surrogate, PrivateUse, OtherNotAssigned], "C", "Other");
        Add([Control], "Cc", "Control", "Cntrl");
        Add([Format], "Cf", "Format");
        Add([Surrogate], "Cs", "Surrogate");
        Add([PrivateUse], "Co", "PrivateUse");
        Add([OtherNotAssigned], "Cn", "Unassigned");
        return map;
    }
}
