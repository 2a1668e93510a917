using System.Globalization;

namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>
/// Parses the regular-expression dialect Hugging Face <c>tokenizers</c> hands to Oniguruma (Ruby syntax), limited to what
/// tokenizer files use: literals, <c>.</c>, classes with ranges, negation and nested classes, <c>\s \S \d \D \w \W \h \H
/// \p{..} \P{..} \p{^..}</c>, char escapes (<c>\n \r \t \f \v \e \a \0 \xHH \x{H..} \uHHHH</c>), groups <c>( ) (?: ) (?i: ) (?i)</c>,
/// look-ahead <c>(?= ) (?! )</c>, anchors <c>^ $ \A \z \Z</c>, quantifiers <c>? * + {n} {n,} {,m} {n,m}</c> and their lazy
/// forms. Anything else (look-behind, back-references, possessive and atomic groups, word boundaries, POSIX brackets, class
/// intersection) is rejected with a <see cref="PatternSyntaxException"/> rather than guessed.
/// </summary>
internal sealed partial class PatternParser
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
                return new SetNode(ParseClassBody());
            case '.':
                position++;
                return new SetNode(CodePointSet.Single('\n').Negate());
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

    private PatternNode Literal(int codePoint)
    {
        if (!literalSets.TryGetValue((codePoint, ignoreCase), out CodePointSet? set))
        {
            set = WithCase(CodePointSet.Single(codePoint));
            literalSets[(codePoint, ignoreCase)] = set;
        }

        return new SetNode(set);
    }

    // Under (?i) a code point also matches when its simple lower- or upper-case form is in the set.
    private CodePointSet WithCase(CodePointSet set) => ignoreCase ? set.WithCaseVariants() : set;
}
