using System.Reflection;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// What <c>kernelsharp --version</c> prints: the tool's version, the commit it was built from (the SDK appends it to the
/// informational version as <c>+sha</c> when building from a git checkout) and the ILGPU version that compiles kernels.
/// </summary>
public static class ToolVersion
{
    public static string Describe()
    {
        string informational = typeof(ToolVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        int plus = informational.IndexOf('+', StringComparison.Ordinal);
        string version = plus < 0 ? informational : informational[..plus];
        string commit = plus < 0 ? "unknown" : informational[(plus + 1)..];
        Version? ilgpu = typeof(ILGPU.Context).Assembly.GetName().Version;
        return $"kernelsharp {version} (commit {commit}), ILGPU {ilgpu?.ToString(3) ?? "unknown"}, .NET {Environment.Version}";
    }
}
