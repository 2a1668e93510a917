using System.Globalization;
using System.Text;

namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>
/// Parses the regular-expression dialect Hugging Face <c>tokenizers</c> hands to Oniguruma (Ruby syntax), limited to what
/// tokenizer files use: literals, <c>.</c>, classes with ranges, negation and nested classes, <c>\s \S \d \D \w \W \h \H
/// \p{..} \P{..} \p{^..}</c>, char escapes (<c>\n \r \t \f \v \e \a \0 \xHH \x{H..} \uHHHH</c>), groups <c>( ) (?: ) (?i: ) (?i)</c>,
/// look-ahead <c>(?= ) (?! )</c>, anchors <c>^ $ \A \z \Z</c>, quantifiers <c>? * + {n} {n,} {,m} {n,m}</c> and their lazy
/// forms. Anything else (look-behind, back-references, possessive and atomic groups, word boundaries, POSIX brackets, class
/// intersection) is rejected with a <see cref="PatternSyntaxException"/> rather than guessed.
/// </summary>
internal sealed class PatternParser
{
    // Counted repetition is compiled by copying the body; this bounds the program size for patterns such as \p{N}{1,3}.
    private const int MaxRepeatCount = 1000;

    private readonly int[] pattern; // the pattern as code points
    private readonly Dictionary<(int, bool), CodePointSet> literalSets = new();
    private int position;
    private bool ignoreCase;

    private PatternParser(string pattern)
    {
        this.pattern = CodePoints.FromString(pattern);
    }

    public static PatternNode Parse(string pattern)
    {
        var parser = new PatternParser(pattern);
        PatternNode node = parser.ParseAlternation();
        if (parser.position < parser.pattern.Length)
        {
            throw parser.Error("unbalanced ')'");
        }

        return node;
    }

    private bool AtEnd => position >= pattern.Length;

    private int Peek(int ahead = 0) => position + ahead < pattern.Length ? pattern[position + ahead] : -1;

    private PatternSyntaxException Error(string message) => new(message + " at position " + position.ToString(CultureInfo.InvariantCulture), position);

    private PatternNode ParseAlternation()
    {
        var branches = new List<PatternNode> { ParseConcatenation() };
        while (Peek() == '|')
        {
            position++;
            branches.Add(ParseConcatenation());
        }

        return branches.Count == 1 ? branches[0] : new AlternationNode(branches);
    }

    private PatternNode ParseConcatenation()
    {
        var items = new List<PatternNode>();
        while (!AtEnd && Peek() != '|' && Peek() != ')')
        {
            PatternNode? atom = ParseAtom();
            if (atom is null)
            {
                continue; // an inline flag group such as (?i) produces no node
            }

            items.Add(ParseQuantifiers(atom));
        }

        // (?i) lasts to the end of the enclosing group, so alternatives after '|' in the same group keep it.
        return items.Count == 1 ? items[0] : new ConcatNode(items);
    }

    private PatternNode ParseQuantifiers(PatternNode atom)
    {
        while (!AtEnd)
        {
            int min, max;
            switch (Peek())
            {
                case '?':
                    min = 0; max = 1; position++;
                    break;
                case '*':
                    min = 0; max = -1; position++;
                    break;
                case '+':
                    min = 1; max = -1; position++;
                    break;
                case '{':
                    if (!TryParseBraces(out min, out max))
                    {
                        return atom; // not a quantifier: Oniguruma reads '{' literally
                    }

                    break;
                default:
                    return atom;
            }

            bool greedy = true;
            if (Peek() == '?')
            {
                greedy = false;
                position++;
            }
            else if (Peek() == '+')
            {
                throw Error("possessive quantifiers are not supported");
            }

            if (max >= 0 && max < min)
            {
                throw Error("repeat range {n,m} has m < n");
            }

            if (Math.Max(min, max) > MaxRepeatCount)
            {
                throw Error("repeat counts above " + MaxRepeatCount.ToString(CultureInfo.InvariantCulture) + " are not supported");
            }

            if (atom is AnchorNode or LookaheadNode)
            {
                throw Error("a quantifier after an anchor or look-ahead is not supported");
            }

            if (max != 1 && atom.CanMatchEmpty)
            {
                throw Error("a repeated group that can match nothing is not supported");
            }

            atom = new RepeatNode(atom, min, max, greedy);
        }

        return atom;
    }

    // {n} {n,} {,m} {n,m}; leaves the position unchanged and returns false when the text is not a valid quantifier.
    private bool TryParseBraces(out int min, out int max)
    {
        int save = position;
        position++; // '{'
        int? low = ParseNumber();
        int? high;
        if (Peek() == ',')
        {
            position++;
            high = ParseNumber();
            if (low is null && high is null)
            {
                position = save;
                min = max = 0;
                return false;
            }

            min = low ?? 0;
            max = high ?? -1;
        }
        else
        {
            if (low is null)
            {
                position = save;
                min = max = 0;
                return false;
            }

            min = max = low.Value;
        }

        if (Peek() != '}')
        {
            position = save;
            return false;
        }

        position++;
        return true;
    }

    private int? ParseNumber()
    {
        int start = position;
        long value = 0;
        while (Peek() is >= '0' and <= '9')
        {
            value = Math.Min(value * 10 + (Peek() - '0'), int.MaxValue);
            position++;
        }

        return position == start ? null : (int)value;
    }

    private PatternNode? ParseAtom()
    {
        int c = pattern[position];
        switch (c)
        {
            case '(':
                return ParseGroup();
            case '[':
                position++;
                return new SetNode(new CodePointSet(ParseClassBody()));
            case '.':
                position++;
                return new SetNode(new CodePointSet(cp => cp != '\n'));
            case '^':
                position++;
                return new AnchorNode(AnchorKind.LineStart);
            case '$':
                position++;
                return new AnchorNode(AnchorKind.LineEnd);
            case '\\':
                return ParseEscapeOutsideClass();
            case '*' or '+' or '?':
                throw Error("nothing to repeat before '" + (char)c + "'");
            default:
                position++;
                return Literal(c);
        }
    }

    private PatternNode? ParseGroup()
    {
        position++; // '('
        bool savedIgnoreCase = ignoreCase;
        PatternNode body;
        if (Peek() == '?')
        {
            position++;
            int kind = Peek();
            switch (kind)
            {
                case ':':
                    position++;
                    body = ParseAlternation();
                    break;
                case '=' or '!':
                    position++;
                    body = new LookaheadNode(ParseAlternation(), Negative: kind == '!');
                    break;
                case '<' when Peek(1) is '=' or '!':
                    throw Error("look-behind is not supported");
                case '<' or '\'':
                    SkipGroupName(kind == '<' ? '>' : '\'');
                    body = ParseAlternation();
                    break;
                case '>':
                    throw Error("atomic groups are not supported");
                case '#':
                    while (!AtEnd && Peek() != ')')
                    {
                        position++;
                    }

                    ExpectCloseParen();
                    return null;
                default:
                    {
                        // Flags: (?i) (?-i) (?i:...) ; only i is supported (x, m change too much of the syntax).
                        bool? newIgnoreCase = ParseFlags();
                        if (Peek() == ')')
                        {
                            position++;
                            ignoreCase = newIgnoreCase ?? ignoreCase; // lasts to the end of the enclosing group
                            return null;
                        }

                        if (Peek() != ':')
                        {
                            throw Error("unsupported group syntax");
                        }

                        position++;
                        ignoreCase = newIgnoreCase ?? ignoreCase;
                        body = ParseAlternation();
                        break;
                    }
            }
        }
        else
        {
            body = ParseAlternation(); // a capture group: captures are not needed for splitting
        }

        ExpectCloseParen();
        ignoreCase = savedIgnoreCase;
        return body;
    }

    private bool? ParseFlags()
    {
        bool on = true;
        bool? result = null;
        while (!AtEnd && Peek() != ')' && Peek() != ':')
        {
            int flag = Peek();
            if (flag == '-')
            {
                on = false;
            }
            else if (flag == 'i')
            {
                result = on;
            }
            else
            {
                throw Error("unsupported inline flag '" + char.ConvertFromUtf32(flag) + "'");
            }

            position++;
        }

        return result;
    }

    private void SkipGroupName(int terminator)
    {
        position++;
        while (!AtEnd && Peek() != terminator)
        {
            position++;
        }

        if (AtEnd)
        {
            throw Error("unterminated group name");
        }

        position++;
    }

    private void ExpectCloseParen()
    {
        if (Peek() != ')')
        {
            throw Error("missing ')'");
        }

        position++;
    }

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

        Func<int, bool>? classPredicate = TryParseClassEscape();
        if (classPredicate is not null)
        {
            return new SetNode(new CodePointSet(WithCase(classPredicate)));
        }

        return Literal(ParseCharEscape(insideClass: false));
    }

    // \s \S \d \D \w \W \h \H \p{..} \P{..}; null (position unchanged) when the escape is not a class.
    private Func<int, bool>? TryParseClassEscape()
    {
        int c = Peek();
        switch (c)
        {
            case 's':
                position++;
                return CodePointSet.IsWhiteSpace;
            case 'S':
                position++;
                return cp => !CodePointSet.IsWhiteSpace(cp);
            case 'd':
                position++;
                return cp => CodePointSet.CategoryOf(cp) == UnicodeCategory.DecimalDigitNumber;
            case 'D':
                position++;
                return cp => CodePointSet.CategoryOf(cp) != UnicodeCategory.DecimalDigitNumber;
            case 'w':
                position++;
                return CodePointSet.IsWordCharacter;
            case 'W':
                position++;
                return cp => !CodePointSet.IsWordCharacter(cp);
            case 'h':
                position++;
                return IsHexDigit;
            case 'H':
                position++;
                return cp => !IsHexDigit(cp);
            case 'p' or 'P':
                return ParsePropertyEscape();
            default:
                return null;
        }
    }

    private static bool IsHexDigit(int cp) => cp is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    private Func<int, bool> ParsePropertyEscape()
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
        Func<int, bool> predicate;
        if (propertyName.Equals("Any", StringComparison.OrdinalIgnoreCase))
        {
            predicate = _ => true;
        }
        else if (propertyName.Equals("White_Space", StringComparison.OrdinalIgnoreCase) || propertyName.Equals("Space", StringComparison.OrdinalIgnoreCase))
        {
            predicate = CodePointSet.IsWhiteSpace;
        }
        else
        {
            UnicodeCategory[] categories = UnicodeCategoryNames.Lookup(propertyName)
                ?? throw Error("unsupported Unicode property \\p{" + propertyName + "} (only general categories are supported)");
            int mask = 0;
            foreach (UnicodeCategory category in categories)
            {
                mask |= 1 << (int)category;
            }

            predicate = cp => ((1 << (int)CodePointSet.CategoryOf(cp)) & mask) != 0;
        }

        return negate ? cp => !predicate(cp) : predicate;
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
    private Func<int, bool> ParseClassBody()
    {
        bool negate = false;
        if (Peek() == '^')
        {
            negate = true;
            position++;
        }

        var items = new List<Func<int, bool>>();
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

                Func<int, bool>? escapeClass = TryParseClassEscape();
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

        Func<int, bool>[] all = [.. items];
        Func<int, bool> union = cp =>
        {
            foreach (Func<int, bool> item in all)
            {
                if (item(cp))
                {
                    return true;
                }
            }

            return false;
        };
        Func<int, bool> cased = WithCase(union);
        return negate ? cp => !cased(cp) : cased;
    }

    // Having read the single character `low`, reads "-high" when it follows and adds the range (or just the character).
    private void AddRangeOrSingle(List<Func<int, bool>> items, int low)
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

            items.Add(cp => cp >= low && cp <= high);
            return;
        }

        items.Add(cp => cp == low);
    }

    private PatternNode Literal(int codePoint)
    {
        if (!literalSets.TryGetValue((codePoint, ignoreCase), out CodePointSet? set))
        {
            set = new CodePointSet(WithCase(cp => cp == codePoint));
            literalSets[(codePoint, ignoreCase)] = set;
        }

        return new SetNode(set);
    }

    // Under (?i) a code point also matches when its simple lower- or upper-case form is in the set.
    private Func<int, bool> WithCase(Func<int, bool> predicate)
    {
        if (!ignoreCase)
        {
            return predicate;
        }

        return cp =>
        {
            if (predicate(cp))
            {
                return true;
            }

            if ((uint)cp > 0x10FFFF || cp is >= 0xD800 and <= 0xDFFF)
            {
                return false;
            }

            var rune = new Rune(cp);
            return predicate(Rune.ToLowerInvariant(rune).Value) || predicate(Rune.ToUpperInvariant(rune).Value);
        };
    }
}
