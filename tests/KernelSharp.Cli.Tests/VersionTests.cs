using System.Text.RegularExpressions;

namespace KernelSharp.Cli.Tests;

/// <summary><c>kernelsharp --version</c>: version, commit and ILGPU version on one line, exit 0.</summary>
public sealed class VersionTests
{
    [Fact]
    public void Version_names_the_tool_version_the_commit_and_ilgpu()
    {
        CliResult result = Cli.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(new Regex(@"^kernelsharp \d+\.\d+\.\d+\S* \(commit [0-9a-f]{7,40}\), ILGPU 1\.5\.3, \.NET \d+"), result.Stdout.Trim());
        Assert.Equal(string.Empty, result.Stderr);
    }
}
