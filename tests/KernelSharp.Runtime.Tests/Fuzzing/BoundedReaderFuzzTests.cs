using Xunit;

namespace KernelSharp.Runtime.Tests.Fuzzing;

/// <summary>
/// The bounded readers every text input goes through agree with the unbounded reference (.NET's own reader) on random
/// text, line endings and limits: the same lines while within the limit, an error (never a truncated line) past it.
/// </summary>
public sealed class BoundedReaderFuzzTests
{
    private static readonly Func<string, Exception> Fail = message => new UserInputException(message);

    [Fact]
    public void Bounded_lines_match_the_reference_reader_or_fail_past_the_limit()
    {
        var random = new Random(17);
        for (int trial = 0; trial < 2000; trial++)
        {
            string text = RandomText(random, random.Next(0, 400));
            int limit = random.Next(1, 120);
            var reference = new StringReader(text);
            var bounded = new StringReader(text);
            while (true)
            {
                string? expected = reference.ReadLine();
                if (expected is not null && expected.Length > limit)
                {
                    Assert.Throws<UserInputException>(() => InputFiles.ReadLine(bounded, "fuzz", limit, Fail));
                    break;
                }

                // .NET's reader also ends a line at a lone '\r'; ours ends lines at '\n' only (JSONL, chat input).
                if (expected is not null && text.Contains('\r'))
                {
                    break;
                }

                Assert.Equal(expected, InputFiles.ReadLine(bounded, "fuzz", limit, Fail));
                if (expected is null)
                {
                    break;
                }
            }
        }
    }

    [Fact]
    public void Bounded_whole_reads_match_the_reference_or_fail_past_the_limit()
    {
        var random = new Random(29);
        for (int trial = 0; trial < 500; trial++)
        {
            string text = RandomText(random, random.Next(0, 200_000));
            int limit = random.Next(1, 200_000);
            if (text.Length > limit)
            {
                Assert.Throws<UserInputException>(() => InputFiles.ReadToEnd(new StringReader(text), "fuzz", limit, Fail));
            }
            else
            {
                Assert.Equal(text, InputFiles.ReadToEnd(new StringReader(text), "fuzz", limit, Fail));
            }
        }
    }

    private static string RandomText(Random random, int length)
    {
        const string alphabet = "ab \t{}\"\\é東😀\n\n\r";
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }
        return new string(chars);
    }
}
