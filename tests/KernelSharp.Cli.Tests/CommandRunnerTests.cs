using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Cli.Verbs;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Devices;

namespace KernelSharp.Cli.Tests;

/// <summary>How failures become exit codes and stderr lines, checked with a verb that throws on demand.</summary>
public sealed class CommandRunnerTests
{
    private sealed class ThrowingVerb(Exception failure) : IVerb
    {
        public VerbSpec Spec { get; } = new("fail", "Fails.", string.Empty, string.Empty, []);

        public int Run(ParsedArguments args, CliContext context) => throw failure;
    }

    private static CliResult Run(Exception failure, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr, TextReader.Null, CancellationToken.None, ErrorIsTerminal: false);
        int exit = CommandRunner.Run([new ThrowingVerb(failure)], ["fail", .. args], context);
        return new CliResult(exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void A_user_mistake_prints_only_its_message()
    {
        CliResult result = Run(new UserInputException("/models/x/config.json: missing key 'hidden_size'"));
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: /models/x/config.json: missing key 'hidden_size'", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void An_unexpected_failure_is_one_line_and_verbose_adds_the_stack_trace()
    {
        Exception Thrown()
        {
            try
            {
                throw new InvalidOperationException("state went\nwrong");
            }
            catch (InvalidOperationException e)
            {
                return e;
            }
        }

        CliResult quiet = Run(Thrown());
        Assert.Equal(1, quiet.ExitCode);
        Assert.Equal("error: InvalidOperationException: state went wrong (run with --verbose for details)", Assert.Single(quiet.ErrorLines));

        CliResult verbose = Run(Thrown(), "--verbose");
        Assert.Equal(1, verbose.ExitCode);
        Assert.Contains(" at ", verbose.Stderr);
        Assert.True(verbose.ErrorLines.Length > 2);
    }

    [Fact]
    public void Running_out_of_memory_gives_advice()
    {
        CliResult result = Run(new OutOfMemoryException("Array dimensions exceeded"));
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains("out of host memory", line);
        Assert.Contains("smaller context (-c)", line);
    }

    [Fact]
    public void Cancellation_maps_to_exit_130()
    {
        using var interrupt = new CancellationTokenSource();
        interrupt.Cancel();
        var stderr = new StringWriter();
        var context = new CliContext(TextWriter.Null, stderr, TextReader.Null, interrupt.Token, ErrorIsTerminal: false);
        int exit = CommandRunner.Run([new ThrowingVerb(new OperationCanceledException(interrupt.Token))], ["fail"], context);
        Assert.Equal(130, exit);
        Assert.Equal("interrupted\n", stderr.ToString().Replace("\r\n", "\n"));
    }

    [SkippableFact]
    public void Generate_on_cuda_without_a_cuda_device_exits_1_with_one_line()
    {
        Skip.If(new IlgpuGpuProbe().FindGpus().Any(g => g.Kind == ComputeDevice.Cuda), "this machine has a CUDA device");
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hi", "-n", "2", "--device", "cuda");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: device cuda: no CUDA device on this machine", Assert.Single(result.ErrorLines));
    }
}
