using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using KernelSharp.Runtime.Tokenization.Patterns;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>
/// The code-point pattern engine against .NET's Regex as the reference. On text of BMP characters both see the same
/// units, so their matches must agree exactly. For characters outside the BMP, each is replaced by a BMP stand-in of
/// the same general category before asking .NET (which would otherwise see two surrogates): the engine must then
/// match the original exactly where .NET matches the stand-ins — which is what "an emoji is one \p{S}" means.
/// </summary>
public sealed class CodePointPatternTests
{
    private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    private const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // BMP characters covering every class the patterns test: letters, marks, digits, punctuation, symbols, spaces, controls.
    private const string BmpAlphabet = "aZé'stSTrevmld中文かカー한ا\u0301\u0308\u200D0123٣²!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~—。，·°√∞ \t\r\n\u3000\u00A0\u2028\u000B\u0000\u00AD";

    // Characters beyond the BMP and a BMP character of the same general category that no pattern names literally
    // (so not an ASCII letter or punctuation, nor a CJK or kana character of DeepSeek's explicit ranges).
    private static readonly (string Astral, char StandIn)[] AstralStandIns =
    [
        ("😀", '©'), ("🚀", '©'), ("🇨", '©'), ("\U0001F3FD", '´'), ("𝐀", 'Ä'), ("𝔘", 'Ω'), ("𝟏", '٣'),
        ("𐌀", 'ก'), ("\U000E0061", '\u200D'), ("\U000F0000", '\uE000'), ("𠀀", 'ㄱ'), ("\U0001D165", '\u0301'),
    ];

    public static TheoryData<string> Patterns()
    {
        var data = new TheoryData<string> { Gpt2, Llama3, @"(?i:[a-c]+)T|[^a-z]+?e|\d{2}", @"a+?b|[^\d\s]{2,}|s{2,3}t|e{0,2}r|(?:ab|a)c|\S+(?=\s)|^\w+$" };
        foreach (string pattern in DeepSeekSplitPatterns())
        {
            data.Add(pattern);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void MatchesLikeDotNetRegexOnBmpText(string pattern)
    {
        CodePointPattern engine = CodePointPattern.Compile(pattern);
        var reference = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Multiline);
        var random = new Random(pattern.Length * 31 + 5);
        for (int trial = 0; trial < 400; trial++)
        {
            string text = RandomText(random, BmpAlphabet, extra: []);
            Assert.Equal(ReferenceMatches(reference, text), EngineMatches(engine, text));
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void TreatsEachCharacterBeyondTheBmpAsOneUnitWithItsCategory(string pattern)
    {
        CodePointPattern engine = CodePointPattern.Compile(pattern);
        var reference = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Multiline);
        var standIns = AstralStandIns.ToDictionary(pair => char.ConvertToUtf32(pair.Astral, 0), pair => pair.StandIn);
        var random = new Random(pattern.Length * 17 + 3);
        for (int trial = 0; trial < 400; trial++)
        {
            string text = RandomText(random, BmpAlphabet, extra: AstralStandIns.Select(pair => pair.Astral).ToArray());
            int[] codePoints = CodePointsOf(text);
            string substituted = new(codePoints.Select(cp => standIns.TryGetValue(cp, out char standIn) ? standIn : (char)cp).ToArray());

            var matches = new List<(int, int)>();
            engine.FindMatches(codePoints, matches);

            Assert.Equal(ReferenceMatches(reference, substituted), matches);
        }
    }

    [Theory]
    [InlineData(@"(?<=a)b", "look-behind")]
    [InlineData(@"(a)\1", "back-references")]
    [InlineData(@"a++", "possessive")]
    [InlineData(@"(?>a)", "atomic")]
    [InlineData(@"\bword", "\\b")]
    [InlineData(@"[[:alpha:]]", "POSIX")]
    [InlineData(@"\p{Han}", "Han")]
    [InlineData(@"(a*)*", "can match nothing")]
    [InlineData(@"(ab", "missing ')'")]
    [InlineData(@"ab)", "unbalanced")]
    [InlineData(@"[a-", "missing ']'")]
    [InlineData(@"*a", "nothing to repeat")]
    public void RejectsWhatItDoesNotSupportWithAReason(string pattern, string reason)
    {
        var exception = Assert.Throws<PatternSyntaxException>(() => CodePointPattern.Compile(pattern));

        Assert.Contains(reason, exception.Message, StringComparison.Ordinal);
    }

    private static IEnumerable<string> DeepSeekSplitPatterns()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(TokenizerFixtures.DeepSeekTokenizerJson));
        foreach (JsonElement step in document.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers").EnumerateArray())
        {
            if (step.GetProperty("type").GetString() == "Split")
            {
                yield return step.GetProperty("pattern").GetProperty("Regex").GetString()!;
            }
        }
    }

    private static string RandomText(Random random, string alphabet, string[] extra)
    {
        var builder = new StringBuilder();
        int length = random.Next(0, 24);
        for (int i = 0; i < length; i++)
        {
            if (extra.Length > 0 && random.Next(4) == 0)
            {
                builder.Append(extra[random.Next(extra.Length)]);
            }
            else
            {
                // Runs of one character (spaces, newlines, letters) exercise the greedy/backtracking paths.
                char c = alphabet[random.Next(alphabet.Length)];
                builder.Append(c, random.Next(5) == 0 ? random.Next(2, 5) : 1);
            }
        }

        return builder.ToString();
    }

    private static List<(int, int)> ReferenceMatches(Regex regex, string text) =>
        regex.Matches(text).Where(match => match.Length > 0).Select(match => (match.Index, match.Index + match.Length)).ToList();

    private static List<(int, int)> EngineMatches(CodePointPattern engine, string text)
    {
        var matches = new List<(int Start, int End)>();
        engine.FindMatches(CodePointsOf(text), matches);
        return matches.Where(match => match.End > match.Start).Select(match => (match.Start, match.End)).ToList();
    }

    private static int[] CodePointsOf(string text)
    {
        var result = new List<int>();
        for (int i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
        {
            result.Add(char.ConvertToUtf32(text, i));
        }

        return [.. result];
    }
}
