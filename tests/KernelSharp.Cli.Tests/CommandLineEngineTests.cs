using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// What System.CommandLine, the engine behind <see cref="ArgumentParser"/>, adds (response files, the [suggest] completion
/// directive, --name:value) and what it must not change: the exact one-line usage errors of the hand-written parser it replaced.
/// </summary>
public sealed class CommandLineEngineTests
{
    private static readonly VerbSpec Verb = new("demo", "Demo.", string.Empty, string.Empty,
    [
        OptionSpec.Value("count", "N", "a count", "n"),
        OptionSpec.Value("ratio", "R", "a ratio"),
        OptionSpec.Value("tag", "T", "a tag") with { Repeatable = true },
        OptionSpec.Flag("fast", "a flag"),
    ]);

    private static string ErrorOf(params string[] args)
        => Assert.Throws<UsageException>(() => ArgumentParser.Parse(Verb, args)).Message;

    [Fact]
    public void The_usage_errors_are_the_hand_written_parsers_word_for_word()
    {
        Assert.Equal("unknown option '--ratoi' for demo; did you mean '--ratio'? (see kernelsharp demo --help)", ErrorOf("--ratoi", "1"));
        Assert.Equal("unknown option '--ratoi' for demo; did you mean '--ratio'? (see kernelsharp demo --help)", ErrorOf("--ratoi=1"));
        Assert.Equal("unknown option '-x' for demo (see kernelsharp demo --help)", ErrorOf("-x"));
        Assert.Equal("unexpected argument 'stray' (see kernelsharp demo --help)", ErrorOf("-n", "1", "stray"));
        Assert.Equal("unexpected argument '-' (see kernelsharp demo --help)", ErrorOf("-"));
        Assert.Equal("option -n/--count needs a value (N)", ErrorOf("--ratio", "1", "-n"));
        Assert.Equal("option -n/--count is given twice", ErrorOf("-n", "1", "--count=2"));
        Assert.Equal("option --fast is given twice", ErrorOf("--fast", "--fast"));
        Assert.Equal("option --fast takes no value", ErrorOf("--fast=yes"));
        Assert.Equal("unexpected argument 'yes' (see kernelsharp demo --help)", ErrorOf("--fast", "yes"));
        Assert.Equal("unexpected argument 'b' (see kernelsharp demo --help)", ErrorOf("--tag", "a", "b"));
        // Short options are not bundled: "-nf" is one unknown name, as before.
        Assert.Equal("unknown option '-nf' for demo (see kernelsharp demo --help)", ErrorOf("-nf"));
        // The first problem in command-line order is the one reported.
        Assert.Equal("option -n/--count is given twice", ErrorOf("-n", "1", "-n", "2", "--bogus"));
    }

    [Fact]
    public void Double_dash_ends_the_options_and_what_follows_is_the_operand_even_if_it_looks_like_an_option()
    {
        VerbSpec withOperand = Verb with { Operand = new OperandSpec("TEXT", "the text") };
        ParsedArguments args = ArgumentParser.Parse(withOperand, ["-n", "1", "--", "--fast"]);
        Assert.Equal("--fast", args.Operand);
        Assert.False(args.Flag("fast"));
        Assert.Equal("-5 degrees", ArgumentParser.Parse(withOperand, ["--", "-5 degrees"]).Operand);
        Assert.Equal("@no-such.rsp", ArgumentParser.Parse(withOperand, ["--", "@no-such.rsp"]).Operand); // text, not a response file
        Assert.Equal("--", ArgumentParser.Parse(withOperand, ["--", "--"]).Operand);
        Assert.Null(ArgumentParser.Parse(withOperand, ["-n", "1", "--"]).Operand);

        // A verb that reads no operand refuses one; the options before "--" are checked first, in command-line order.
        Assert.Equal("unexpected argument 'x' after '--': demo reads nothing there (see kernelsharp demo --help)", ErrorOf("--", "x"));
        Assert.Null(ArgumentParser.Parse(Verb, ["--fast", "--"]).Operand);
        Assert.Equal("option -n/--count needs a value (N)", ErrorOf("-n", "--", "x"));
        Assert.Equal("'--' is followed by 2 arguments; demo reads one TEXT there: quote it (\"a b\")",
            Assert.Throws<UsageException>(() => ArgumentParser.Parse(withOperand, ["--", "a", "b"])).Message);
    }

    [Fact]
    public void Double_dash_inside_a_response_file_is_refused_in_words()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("demo.rsp");
        File.WriteAllLines(file, ["--fast -- x"]);
        Assert.Equal("'--' ends the options only on the command line, not inside a response file (see kernelsharp demo --help)", ErrorOf("@" + file));
    }

    [Fact]
    public void A_value_may_look_like_an_option_of_the_verb_or_a_negative_number()
    {
        Assert.Equal("-5", ArgumentParser.Parse(Verb, ["-n", "-5"]).String("count"));
        Assert.Equal("--fast", ArgumentParser.Parse(Verb, ["--ratio", "--fast"]).String("ratio"));
        Assert.Equal("--other", ArgumentParser.Parse(Verb, ["--ratio", "--other"]).String("ratio"));
        Assert.False(ArgumentParser.Parse(Verb, ["--ratio", "--fast"]).Flag("fast"));
    }

    [Fact]
    public void A_colon_separates_a_long_name_from_its_value_too()
    {
        Assert.Equal("0.5", ArgumentParser.Parse(Verb, ["--ratio:0.5"]).String("ratio"));
        Assert.Equal("a:b", ArgumentParser.Parse(Verb, ["--ratio=a:b"]).String("ratio"));
    }

    [Fact]
    public void An_empty_inline_value_stays_an_empty_value()
    {
        ParsedArguments args = ArgumentParser.Parse(Verb, ["--ratio=", "-n", "1"]);
        Assert.Equal(string.Empty, args.String("ratio"));
        Assert.Equal(1, args.Int("count", 0, 0, 10));
        Assert.Equal(string.Empty, ArgumentParser.Parse(Verb, ["-n:"]).String("count"));
        Assert.Equal(string.Empty, ArgumentParser.Parse(Verb, ["--ratio", ""]).String("ratio"));
        Assert.Equal("option --fast takes no value", ErrorOf("--fast="));
        Assert.Equal("unexpected argument '' (see kernelsharp demo --help)", ErrorOf(""));
    }

    [Fact]
    public void A_response_file_supplies_arguments_with_comments_and_quotes()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("demo.rsp");
        File.WriteAllLines(file, ["# the usual flags", "-n 7 --fast", "--tag \"two words\"", "", "--tag=b"]);
        ParsedArguments args = ArgumentParser.Parse(Verb, ["--ratio", "0.5", "@" + file]);
        Assert.Equal(7, args.Int("count", 0, 0, 10));
        Assert.True(args.Flag("fast"));
        Assert.Equal(["two words", "b"], args.All("tag"));
        Assert.Equal("0.5", args.String("ratio"));

        // What the file gives is checked like the rest of the command line.
        Assert.Equal("option -n/--count is given twice", ErrorOf("@" + file, "-n", "8"));
    }

    [Fact]
    public void A_response_file_may_name_another()
    {
        using var temp = new TempDirectory();
        string inner = temp.Combine("inner.rsp");
        string outer = temp.Combine("outer.rsp");
        File.WriteAllLines(inner, ["--tag b --fast"]);
        File.WriteAllLines(outer, ["--tag a", "@" + inner]);
        ParsedArguments args = ArgumentParser.Parse(Verb, ["@" + outer]);
        Assert.Equal(["a", "b"], args.All("tag"));
        Assert.True(args.Flag("fast"));

        File.WriteAllLines(outer, ["--tag a", "@" + temp.Combine("missing.rsp")]);
        Assert.Equal($"response file '{outer}' could not be read (a response file named in it is missing, or reading failed)", ErrorOf("@" + outer));
    }

    [Fact]
    public void An_at_sign_without_such_a_file_is_text_as_a_value_and_an_error_elsewhere()
    {
        Assert.Equal("@alice hi", ArgumentParser.Parse(Verb, ["--ratio", "@alice hi"]).String("ratio"));
        Assert.Equal("response file 'no-such.rsp' not found (see kernelsharp demo --help)", ErrorOf("@no-such.rsp"));
    }

    [Fact]
    public void Generate_reads_its_options_from_a_response_file()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("generate.rsp");
        File.WriteAllLines(file, [$"-m \"{Fixtures.TinyBf16}\"", "-p Hello -n 4", "--temp 0 --ignore-eos"]);
        CliResult fromFile = Cli.Run("generate", "@" + file);
        CliResult inline = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "4", "--temp", "0", "--ignore-eos");
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.Equal(inline.Stdout, fromFile.Stdout);

        CliResult twice = Cli.Run("generate", "@" + file, "-n", "2");
        Assert.Equal(2, twice.ExitCode);
        Assert.Equal("usage error: option -n/--n-predict is given twice", Assert.Single(twice.ErrorLines));
    }

    [Theory]
    [InlineData("kernelsharp gen", "generate")]
    [InlineData("kernelsharp generate --te", "--temp")]
    [InlineData("kernelsharp inspect --te", "--tensors")]
    [InlineData("kernelsharp create-model --pre", "--preset")]
    public void The_suggest_directive_completes_verbs_and_options(string line, string completion)
    {
        CliResult result = Cli.Run($"[suggest:{line.Length}]", line);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal([completion], result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void The_suggest_directive_lists_every_option_of_a_verb_after_a_space()
    {
        string line = "kernelsharp devices ";
        CliResult result = Cli.Run($"[suggest:{line.Length}]", line);
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] expected = Program.Verbs.Single(v => v.Spec.Name == "devices").Spec.AllOptions
            .SelectMany(o => o.Short is null ? ["--" + o.Long] : new[] { "--" + o.Long, "-" + o.Short })
            .Order(StringComparer.OrdinalIgnoreCase).ToArray();
        Assert.Equal(expected, result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.OrdinalIgnoreCase).ToArray());
    }
}
