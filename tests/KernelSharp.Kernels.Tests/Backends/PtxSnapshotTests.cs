using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Norms;
using Snapshooter;
using Snapshooter.Xunit;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// PTX (sm_80, no GPU needed) of the GPU variants of the two hottest dense kernels, scrubbed of volatile names.
/// The assertions pin what makes them fast; the snapshot shows any other change in the generated code.
/// </summary>
public sealed class PtxSnapshotTests
{
    /// <summary>The scrubbed PTX of a generated variant; a format-generic one instantiated for <paramref name="format"/>.</summary>
    internal static string CompileScrubbed(Type kernels, string variant, Type? format = null)
    {
        var method = kernels.GetMethod(variant, BindingFlags.Public | BindingFlags.Static)
            ?? throw new InvalidOperationException($"variant {kernels.Name}.{variant} not generated");
        return PtxScrubber.Scrub(PtxCompiler.Compile(format is null ? method : method.MakeGenericMethod(format)));
    }

    [Fact]
    public void Gemv_bf16_group_variant_uses_16_byte_loads_and_warp_shuffles()
    {
        string ptx = CompileScrubbed(typeof(GemvKernels), "Gemv__groupSize128", typeof(Bf16Rows));
        Assert.Contains("ld.global.v4.b32", ptx);   // 8 bf16 weights per access
        Assert.Contains("ld.global.v4.f32", ptx);   // 4 activations per access
        Assert.Contains("shfl.sync.bfly", ptx);
        Assert.DoesNotContain(".local", ptx);
        Snapshot.Match(ptx, SnapshotNameExtension.Create("ptx"));
    }

    [Fact]
    public void RmsNorm_group_variant_uses_16_byte_loads_and_one_group_reduction()
    {
        string ptx = CompileScrubbed(typeof(RmsNormKernels), "RmsNorm__groupSize256");
        Assert.Contains("ld.global.v4.f32", ptx);
        Assert.Contains("st.global.v4.f32", ptx);
        Assert.Contains("bar.sync", ptx);
        Assert.DoesNotContain(".local", ptx);
        Snapshot.Match(ptx, SnapshotNameExtension.Create("ptx"));
    }
}
