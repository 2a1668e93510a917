using Xunit;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>The tiny checkpoints in tests/fixtures, each loaded once per test run (loading is the slow part).</summary>
public static class Fixtures
{
    public const string Bf16 = "tiny-dsa-bf16";
    public const string Fp8Yarn = "tiny-dsa-fp8-yarn";

    private static readonly ConcurrentDictionary<string, Lazy<DeepSeekModel>> Models = new();

    public static TheoryData<string> Names => new() { Bf16, Fp8Yarn };

    /// <summary>
    /// tests/fixtures/<paramref name="name"/>: next to this source file (builds may go to an artifacts folder outside the
    /// repository), else found by walking up from the test binaries.
    /// </summary>
    public static string Directory(string name, [CallerFilePath] string sourceFile = "")
    {
        var candidates = new List<string> { Path.Combine(Path.GetDirectoryName(sourceFile) ?? ".", "..", "..", "fixtures", name) };
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, "tests", "fixtures", name));
        }

        return candidates.Select(Path.GetFullPath).FirstOrDefault(System.IO.Directory.Exists)
            ?? throw new DirectoryNotFoundException($"tests/fixtures/{name} not found next to the test sources or above {AppContext.BaseDirectory}");
    }

    /// <summary>The fixture's model on the CPU, shared by the tests (sessions are created per test).</summary>
    public static DeepSeekModel Model(string name) => Model(name, "cpu");

    /// <summary>The fixture's model on <paramref name="device"/> (a DeviceSelector name), shared by the tests.</summary>
    public static DeepSeekModel Model(string name, string device) =>
        Models.GetOrAdd($"{name}|{device}", _ => new Lazy<DeepSeekModel>(() => DeepSeekModel.Load(Directory(name), new ModelLoadOptions { Device = device }))).Value;

    public static GoldenFile Golden(string name) => new(Path.Combine(Directory(name), "golden.safetensors"));
}
