using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Tests;

public sealed class ArgumentParserTests
{
    private static readonly VerbSpec Verb = new("demo", "Demo.", string.Empty, string.Empty,
    [
        OptionSpec.Value("count", "N", "a count", "n"),
        OptionSpec.Value("ratio", "R", "a ratio"),
        OptionSpec.Value("tag", "T", "a tag") with { Repeatable = true },
        OptionSpec.Flag("fast", "a flag"),
    ]);

    [Fact]
    public void Long_short_and_inline_forms_are_read()
    {
        ParsedArguments args = ArgumentParser.Parse(Verb, ["-n", "7", "--ratio=0.25", "--tag", "a", "--tag=b", "--fast"]);
        Assert.Equal(7, args.Int("count", 0, 0, 10));
        Assert.Equal(0.25f, args.Float("ratio", 1, r => r > 0, "> 0"));
        Assert.Equal(["a", "b"], args.All("tag"));
        Assert.True(args.Flag("fast"));
    }

    [Fact]
    public void Absent_options_give_their_defaults()
    {
        ParsedArguments args = ArgumentParser.Parse(Verb, []);
        Assert.Equal(3, args.Int("count", 3, 0, 10));
        Assert.False(args.Flag("fast"));
        Assert.Empty(args.All("tag"));
        Assert.Null(args.String("ratio"));
    }

    [Fact]
    public void A_value_may_start_with_a_dash_so_the_range_check_reports_it()
    {
        ParsedArguments args = ArgumentParser.Parse(Verb, ["-n", "-3"]);
        var error = Assert.Throws<UsageException>(() => args.Int("count", 0, 0, 10));
        Assert.Equal("-n/--count must be an integer between 0 and 10, got '-3'", error.Message);
    }

    [Fact]
    public void Integer_lists_are_checked_element_by_element()
    {
        var spec = new VerbSpec("ids", "Ids.", string.Empty, string.Empty, [OptionSpec.Value("tokens", "IDS", "ids")]);
        Assert.Equal([1, 2, 3], ArgumentParser.Parse(spec, ["--tokens", "1, 2,3"]).IntList("tokens", 0, 9));
        Assert.Equal("--tokens: 'x' is not an integer between 0 and 9",
            Assert.Throws<UsageException>(() => ArgumentParser.Parse(spec, ["--tokens", "1,x"]).IntList("tokens", 0, 9)).Message);
        Assert.Equal("--tokens needs at least one integer",
            Assert.Throws<UsageException>(() => ArgumentParser.Parse(spec, ["--tokens", ","]).IntList("tokens", 0, 9)).Message);
    }

    [Theory]
    [InlineData("1,,3", "--tokens: item 2 of '1,,3' is empty; separate the values with single commas, e.g. 1,8,64")]
    [InlineData(",1", "--tokens: item 1 of ',1' is empty; separate the values with single commas, e.g. 1,8,64")]
    [InlineData("1,2,", "--tokens: item 3 of '1,2,' is empty; separate the values with single commas, e.g. 1,8,64")]
    [InlineData("1, ,2", "--tokens: item 2 of '1, ,2' is empty; separate the values with single commas, e.g. 1,8,64")]
    public void An_empty_item_in_an_integer_list_is_refused_not_dropped(string text, string message)
    {
        var spec = new VerbSpec("ids", "Ids.", string.Empty, string.Empty, [OptionSpec.Value("tokens", "IDS", "ids")]);
        Assert.Equal(message, Assert.Throws<UsageException>(() => ArgumentParser.Parse(spec, ["--tokens", text]).IntList("tokens", 0, 9)).Message);
    }

    [Fact]
    public void Choices_are_case_insensitive()
    {
        ParsedArguments args = ArgumentParser.Parse(Verb, ["--ratio", "CUDA"]);
        Assert.Equal("cuda", args.Choice("ratio", "auto", SharedOptions.DeviceChoices));
    }

    [Fact]
    public void Device_choices_are_the_runtime_device_selectors_names()
    {
        Assert.Equal(KernelSharp.Runtime.Devices.DeviceSelector.Names, SharedOptions.DeviceChoices);
        ParsedArguments args = ArgumentParser.Parse(Verb, ["--ratio", "ilgpu-cpu"]);
        Assert.Equal("ilgpu-cpu", args.Choice("ratio", "auto", SharedOptions.DeviceChoices));
    }

    [Fact]
    public void Help_lists_every_option_with_its_value_name()
    {
        string help = HelpWriter.ForVerb(Verb);
        Assert.Contains("  -n, --count N", help);
        Assert.Contains("      --fast", help);
        Assert.Contains("  -h, --help", help);
    }
}
