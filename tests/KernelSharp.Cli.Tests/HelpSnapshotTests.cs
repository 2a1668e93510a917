using Snapshooter;
using Snapshooter.Xunit;

namespace KernelSharp.Cli.Tests;

/// <summary>Every verb's --help, snapshot-tested: help text is user interface, so a change must be deliberate.</summary>
public sealed class HelpSnapshotTests
{
    public static TheoryData<string> VerbNames => new(Program.Verbs.Select(v => v.Spec.Name));

    [Theory]
    [MemberData(nameof(VerbNames))]
    public void Verb_help_matches_its_snapshot(string verb)
    {
        CliResult result = Cli.Run(verb, "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Stderr);
        Snapshot.Match(result.Stdout, SnapshotNameExtension.Create(verb));
    }

    [Fact]
    public void Program_help_lists_every_verb()
    {
        CliResult result = Cli.Run("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var verb in Program.Verbs)
        {
            Assert.Contains("  " + verb.Spec.Name + " ", result.Stdout);
        }
        Snapshot.Match(result.Stdout);
    }

    [Fact]
    public void Short_help_flag_works_too()
    {
        Assert.Equal(Cli.Run("generate", "--help").Stdout, Cli.Run("generate", "-h").Stdout);
    }

    [Fact]
    public void No_arguments_prints_help_on_stderr_with_exit_code_2()
    {
        CliResult result = Cli.Run();
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Usage: kernelsharp <verb>", result.Stderr);
    }
}
