using System.Runtime.CompilerServices;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// The autotuner persists its choices per user (~/.local/share/kernelsharp/autotune.json). Tests must neither read
/// choices a user's earlier runs left there (a different variant sums in another order, and the golden contracts are
/// tight) nor write into it: each test process gets a store of its own, unless KERNELSHARP_AUTOTUNE_FILE is set.
/// </summary>
internal static class IsolatedAutotuneStore
{
    [ModuleInitializer]
    internal static void UseAStoreOfThisProcess()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE")))
        {
            Environment.SetEnvironmentVariable(
                "KERNELSHARP_AUTOTUNE_FILE", Path.Combine(Path.GetTempPath(), $"ks-Cli-tests-autotune-{Environment.ProcessId}.json".ToLowerInvariant()));
        }
    }
}
