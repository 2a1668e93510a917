using System.Reflection;

namespace KernelSharp.Cli.Tests;

/// <summary>Paths of the checked-in tiny models (tests/fixtures), recorded at build time.</summary>
internal static class Fixtures
{
    public static string Directory { get; } = typeof(Fixtures).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FixturesDirectory").Value!;

    public static string TinyBf16 => Path.Combine(Directory, "tiny-dsa-bf16");

    public static string TinyFp8Yarn => Path.Combine(Directory, "tiny-dsa-fp8-yarn");
}
