using System.Globalization;
using System.Text;

namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>Escapes, bracketed classes and <c>\p{..}</c> properties: everything that stands for one code point or a set of them.</summary>
internal sealed partial class PatternParser
{
    private PatternNode ParseEscapeOutsideClass()
    {
        position++; // '\'
        if (AtEnd)
        {
            throw Error("pattern ends with a lone backslash");
        }

        int c = Peek();
        switch (c)
        {
            case 'A':
                position++;
                return new AnchorNode(AnchorKind.TextStart);
            case 'z':
                position++;
                return new AnchorNode(AnchorKind.TextEnd);
            case 'Z':
                position++;
                return new AnchorNode(AnchorKind.TextEndBeforeNewline);
            case 'b' or 'B' or 'G' or 'K' or 'R' or 'X' or 'k' or 'g':
                throw Error("the escape \\" + (char)c + " is not supported");
            case >= '1' and <= '9':
                throw Error("back-references are not supported");
        }

        CodePointSet? classEscape = TryParseClassEscape();
        if (classEscape is not null)
        {
            return new SetNode(WithCase(classEscape));
        }

        return Literal(ParseCharEscape(insideClass: false));
    }

    // \s \S \d \D \w \W \h \H \p{..} \P{..}; null (position unchanged) when the escape is not a class.
    private CodePointSet? TryParseClassEscape()
    {
        CodePointSet? set = Peek() switch
        {
            's' => CodePointSet.WhiteSpace,
            'S' => CodePointSet.WhiteSpace.Negate(),
            'd' => CodePointSet.DecimalDigit,
            'D' => CodePointSet.DecimalDigit.Negate(),
            'w' => CodePointSet.Word,
            'W' => CodePointSet.Word.Negate(),
            'h' => CodePointSet.HexDigit,
            'H' => CodePointSet.HexDigit.Negate(),
            _ => null,
        };
        if (set is not null)
        {
            position++;
            return set;
        }

        return Peek() is 'p' or 'P' ? ParsePropertyEscape() : null;
    }

    private static bool IsHexDigit(int cp) => cp is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    private CodePointSet ParsePropertyEscape()
    {
        bool negate = Peek() == 'P';
        position++;
        if (Peek() != '{')
        {
            throw Error("expected '{' after \\p");
        }

        position++;
        if (Peek() == '^')
        {
            negate = !negate;
            position++;
        }

        var name = new StringBuilder();
        while (!AtEnd && Peek() != '}')
        {
            name.Append(char.ConvertFromUtf32(Peek()));
            position++;
        }

        if (AtEnd)
        {
            throw Error("unterminated \\p{...}");
        }

        position++;
        string propertyName = name.ToString();
        CodePointSet set;
        if (propertyName.Equals("Any", StringComparison.OrdinalIgnoreCase))
        {
            set = CodePointSet.All;
        }
        else if (propertyName.Equals("White_Space", StringComparison.OrdinalIgnoreCase) || propertyName.Equals("Space", StringComparison.OrdinalIgnoreCase))
        {
            set = CodePointSet.WhiteSpace;
        }
        else
        {
            UnicodeCategory[] categories = UnicodeCategoryNames.Lookup(propertyName)
                ?? throw Error("unsupported Unicode property \\p{" + propertyName + "} (only general categories are supported)");
            set = CodePointSet.Categories(categories);
        }

        return negate ? set.Negate() : set;
    }

    private int ParseCharEscape(bool insideClass)
    {
        int c = Peek();
        position++;
        switch (c)
        {
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'f': return '\f';
            case 'v': return '\v';
            case 'a': return '\a';
            case 'e': return 0x1B;
            case 'b' when insideClass: return '\b';
            case '0':
                {
                    int value = 0;
                    for (int i = 0; i < 2 && Peek() is >= '0' and <= '7'; i++)
                    {
                        value = value * 8 + (Peek() - '0');
                        position++;
                    }

                    return value;
                }
            case 'x':
                if (Peek() == '{')
                {
                    position++;
                    int value = ParseHex(1, 8);
                    if (Peek() != '}')
                    {
                        throw Error("unterminated \\x{...}");
                    }

                    position++;
                    return CheckScalar(value);
                }

                return ParseHex(1, 2);
            case 'u':
                return CheckScalar(ParseHex(4, 4));
            default:
                if (c is >= 'a' and <= 'z' or >= 'A' and <= 'Z')
                {
                    position--;
                    throw Error("the escape \\" + (char)c + " is not supported");
                }

                return c; // an escaped punctuation or other character stands for itself
        }
    }

    private int CheckScalar(int value) =>
        value is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? value : throw Error("escape names an invalid code point");

    private int ParseHex(int minDigits, int maxDigits)
    {
        int value = 0;
        int digits = 0;
        while (digits < maxDigits && IsHexDigit(Peek()))
        {
            value = value * 16 + Convert.ToInt32(char.ConvertFromUtf32(Peek()), 16);
            position++;
            digits++;
        }

        if (digits < minDigits)
        {
            throw Error("expected hexadecimal digits");
        }

        return value;
    }

    // After '[': the class up to and including its ']'.
    private CodePointSet ParseClassBody()
    {
        bool negate = false;
        if (Peek() == '^')
        {
            negate = true;
            position++;
        }

        var items = new List<CodePointSet>();
        bool first = true;
        while (true)
        {
            if (AtEnd)
            {
                throw Error("missing ']'");
            }

            int c = Peek();
            if (c == ']' && !first)
            {
                position++;
                break;
            }

            first = false;
            if (c == '[')
            {
                if (Peek(1) == ':')
                {
                    throw Error("POSIX bracket expressions are not supported");
                }

                position++;
                items.Add(ParseClassBody());
                continue;
            }

            if (c == '&' && Peek(1) == '&')
            {
                throw Error("class intersection '&&' is not supported");
            }

            if (c == '\\')
            {
                position++;
                if (AtEnd)
                {
                    throw Error("missing ']'");
                }

                CodePointSet? escapeClass = TryParseClassEscape();
                if (escapeClass is not null)
                {
                    items.Add(escapeClass);
                    continue;
                }

                AddRangeOrSingle(items, ParseCharEscape(insideClass: true));
                continue;
            }

            position++;
            AddRangeOrSingle(items, c);
        }

        CodePointSet union = WithCase(CodePointSet.Union(items));
        return negate ? union.Negate() : union;
    }

    // Having read the single character `low`, reads "-high" when it follows and adds the range (or just the character).
    private void AddRangeOrSingle(List<CodePointSet> items, int low)
    {
        if (Peek() == '-' && Peek(1) != ']' && Peek(1) != -1)
        {
            position++;
            int high;
            if (Peek() == '\\')
            {
                position++;
                if (Peek() is 's' or 'S' or 'd' or 'D' or 'w' or 'W' or 'h' or 'H' or 'p' or 'P')
                {
                    throw Error("a class escape cannot end a range");
                }

                high = ParseCharEscape(insideClass: true);
            }
            else if (Peek() == '[')
            {
                throw Error("a nested class cannot end a range");
            }
            else
            {
                high = Peek();
                position++;
            }

            if (high < low)
            {
                throw Error("range out of order in character class");
            }

            items.Add(CodePointSet.Range(low, high));
            return;
        }

        items.Add(CodePointSet.Single(low));
    }
}
