using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using KernelSharp.Dsl;
using Xunit;

namespace KernelSharp.Kernels.Tests;

/// <summary>
/// Every kernel is either launched by the runtime or listed, with its reason, in the library-kernel table of
/// Kernels/README.md; a kernel nothing but tests launches has to be documented or removed. Reads the sources, so it
/// skips where they are absent (the GPU machine runs the test binaries alone).
/// </summary>
public sealed class LibraryKernelTests
{
    private const string TableHeading = "## Library kernels";

    [SkippableFact]
    public void Every_kernel_is_launched_by_the_runtime_or_listed_as_a_library_kernel()
    {
        string root = RepositoryRoot();
        var launched = LaunchedByRuntime(root);
        var listed = LibraryTable(root);

        var undocumented = KernelNames().Where(k => !launched.Contains(k) && !listed.Contains(k)).ToList();

        Assert.True(undocumented.Count == 0,
            $"kernels no runtime code launches and Kernels/README.md does not list: {string.Join(", ", undocumented)}; " +
            "launch them from the runtime, add a row saying why they are kept, or remove them");
    }

    [SkippableFact]
    public void The_library_table_lists_only_kernels_the_runtime_does_not_launch()
    {
        string root = RepositoryRoot();
        var kernels = KernelNames();
        var launched = LaunchedByRuntime(root);
        var listed = LibraryTable(root);

        Assert.NotEmpty(listed);
        Assert.Empty(listed.Where(k => !kernels.Contains(k)).Select(k => $"{k} is not a kernel"));
        Assert.Empty(listed.Where(launched.Contains).Select(k => $"{k} is launched by the runtime"));
    }

    [Fact]
    public void A_launch_counts_through_a_library_helper_only_when_the_runtime_calls_that_helper()
    {
        var runtime = new[] { "TopKLongRow.Launch(device, scores, …);" };
        var library = new Dictionary<string, string>
        {
            ["TopKLongRow"] = "TopKKernels.LaunchTopKRowPass(device, …); TopKKernels.LaunchTopKRowCount<T>(device, …);",
            ["SparseMlaTensorCorePlan"] = "MlaTensorCoreKernels.LaunchSparseMlaTensorCore(device, …);",
        };

        var launched = Launches(runtime, library);

        Assert.Equal(["TopKRowCount", "TopKRowPass"], launched.Order(StringComparer.Ordinal));
    }

    /// <summary>Names of the library's <c>[Kernel]</c> methods (a generic kernel counts once).</summary>
    private static HashSet<string> KernelNames() =>
        typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<KernelAttribute>() is not null)
            .Select(m => m.Name)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Kernels whose generated launcher (<c>LaunchX</c>) is called from Runtime/, Samples/ or Chat/, or from a host helper
    /// in Kernels/ (a file named after its type, e.g. TopKLongRow.cs) that those call.
    /// </summary>
    private static HashSet<string> LaunchedByRuntime(string root)
    {
        var runtime = new[] { "Runtime", "Samples", "Chat" }.SelectMany(folder => Sources(Path.Combine(root, folder))).Select(File.ReadAllText).ToList();
        var library = Sources(Path.Combine(root, "Kernels")).Select(f => KeyValuePair.Create(Path.GetFileNameWithoutExtension(f), File.ReadAllText(f))).ToList();
        return Launches(runtime, library);
    }

    /// <param name="runtime">source texts of the runtime</param>
    /// <param name="library">Kernels/ sources by file name without extension (a host helper's file is named after its type)</param>
    private static HashSet<string> Launches(IReadOnlyList<string> runtime, IEnumerable<KeyValuePair<string, string>> library)
    {
        var launch = new Regex(@"\bLaunch([A-Z][A-Za-z0-9]*)\s*[<(]");
        var helpers = library.Where(file => runtime.Any(text => Regex.IsMatch(text, $@"\b{Regex.Escape(file.Key)}\b"))).Select(file => file.Value);
        return runtime.Concat(helpers)
            .SelectMany(text => launch.Matches(text).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The first column of the table under "## Library kernels" in Kernels/README.md.</summary>
    private static HashSet<string> LibraryTable(string root)
    {
        string[] lines = File.ReadAllLines(Path.Combine(root, "Kernels", "README.md"));
        var row = new Regex(@"^\| `([A-Za-z0-9]+)` \|");
        return lines.SkipWhile(l => !l.StartsWith(TableHeading, StringComparison.Ordinal))
            .Skip(1)
            .TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal))
            .Select(l => row.Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);
    }

    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));

    private static string RepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(sourceFile) ?? "."); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KernelSharp.sln")))
                return dir.FullName;
        }
        throw new SkipException("the repository's sources are not on this machine");
    }
}
