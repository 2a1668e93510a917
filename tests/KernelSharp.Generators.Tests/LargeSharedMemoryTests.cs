using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Generators.Tests.Infrastructure;
using KernelSharp.Generators.Tests.Kernels;
using Snapshooter.Xunit;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// <c>[Kernel(LargeSharedMemory = true)]</c>: a variant over CUDA's 48 KB of static shared memory runs on dynamic shared
/// memory (allocations carved on 16-byte boundaries, the launcher asking for the bytes and raising the kernel's limit),
/// while the variants within 48 KB and the CPU path keep their static allocations.
/// </summary>
[Collection(AutotuneCollection.Name)]
public sealed class LargeSharedMemoryTests
{
    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, 2048)]
    [InlineData(KernelBackend.FastCpu, 20000)]
    [InlineData(KernelBackend.IlgpuCpu, 2048)]
    [InlineData(KernelBackend.IlgpuCpu, 20000)]
    [InlineData(KernelBackend.Cuda, 2048)]
    [InlineData(KernelBackend.Cuda, 20000)]  // 80 016 bytes: needs the raised limit
    [InlineData(KernelBackend.OpenCL, 2048)]
    public void Staged_reverse_matches_the_reference_within_and_over_48_KB(KernelBackend backend, int tile)
    {
        const int groups = 3;
        var device = TestDevices.Get(backend);
        var input = Numerics.Random(groups * tile, seed: tile);
        using var din = device.Allocate<float>(input.Length);
        using var dout = device.Allocate<float>(input.Length);
        din.CopyFromCPU(input);
        TestKernels.LaunchReverseThroughShared(device, din.View, dout.View, groups, tile);
        device.Synchronize();
        Numerics.AssertClose(References.ReverseThroughShared(input, groups, tile), dout.GetAsArray1D(), 0f, $"ReverseThroughShared tile {tile} on {backend}");
    }

    [Fact]
    public void Variant_over_48_KB_declares_only_dynamic_shared_memory()
    {
        string large = PtxCompiler.Compile(typeof(TestKernels).GetMethod("ReverseThroughShared__tile20000")!);
        string small = PtxCompiler.Compile(typeof(TestKernels).GetMethod("ReverseThroughShared__tile2048")!);

        Assert.Contains(".extern .shared", large);
        Assert.DoesNotContain("__shared_alloca", large);
        Assert.DoesNotContain(".extern .shared", small);
        Assert.Contains("__shared_alloca", small);
    }

    [Fact]
    public void Generated_large_variant_and_launcher()
    {
        const string members = """
            [Kernel(Grid = "groups", GroupSize = "128", LargeSharedMemory = true)]
            public static void Stage(ArrayView<float> x, int groups, [Constant(1024, 16384)] int tile)
            {
                var flags = SharedMemory.Allocate<byte>(5);
                var staged = SharedMemory.Allocate<float>(tile);
                if (Group.IdxX == 0)
                    flags[0] = 1;
                for (int i = Group.IdxX; i < tile; i += Group.DimX)
                    staged[i] = x[(long)Grid.IdxX * tile + i];
                Group.Barrier();
                for (int i = Group.IdxX; i < tile; i += Group.DimX)
                    x[(long)Grid.IdxX * tile + i] = staged[tile - 1 - i] + flags[0];
            }
            """;
        var run = GeneratorHarness.Run(KernelSources.InClass(members));
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string generated = run.Generated(".Stage.g.cs");
        // tile 16384: 5 + 65 536 bytes; the floats start at byte 16 (element 4), 65 552 bytes in all.
        Assert.Contains("global::ILGPU.SharedMemory.GetDynamic<byte>().SubView(0, 5)", generated);
        Assert.Contains("global::ILGPU.SharedMemory.GetDynamic<float>().SubView(4, tile)", generated);
        Assert.Contains("SharedMemoryConfig.RequestDynamic<byte>(65552)", generated);
        Assert.Contains("LargeSharedMemory.Allow(", generated);
        Snapshot.Match(generated, "LargeSharedMemory_Stage");
    }

    [Fact]
    public void A_slice_of_12_byte_elements_starts_on_a_multiple_of_16_and_of_its_element()
    {
        // Five ushorts (10 bytes), then 12-byte structs: the next offset that is a multiple of 16 and of 12 is 48 bytes,
        // element 4 of the struct view; 48 + 12 · 4096 = 49 200 bytes, just over the static limit.
        var run = GeneratorHarness.Run(KernelSources.Usings + """
            public struct Triple { public float A, B, C; }

            public static partial class SampleKernels
            {
                [Kernel(GroupSize = "32", LargeSharedMemory = true)]
                public static void K(ArrayView<float> x, [Constant(4096)] int tile)
                {
                    var marks = SharedMemory.Allocate<ushort>(5);
                    var triples = SharedMemory.Allocate<Triple>(tile);
                    marks[0] = 1;
                    triples[Group.IdxX] = new Triple { A = x[Group.IdxX] };
                    Group.Barrier();
                    x[Group.IdxX] = triples[tile - 1 - Group.IdxX].A + marks[0];
                }
            }
            """);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompileProblems);
        string generated = run.Generated(".K.g.cs");
        Assert.Contains("GetDynamic<ushort>().SubView(0, 5)", generated);
        Assert.Contains("GetDynamic<global::Samples.Kernels.Triple>().SubView(4, tile)", generated);
        Assert.Contains("RequestDynamic<byte>(49200)", generated);
    }

    [Fact]
    public void Over_48_KB_without_the_opt_in_is_KS0005_and_says_how_to_opt_in()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(GroupSize = "32")]
                public static void K(ArrayView<float> x, [Constant(1024, 16384)] int tile)
                {
                    var shared = SharedMemory.Allocate<float>(tile);
                    shared[Group.IdxX] = x[Group.IdxX];
                }
            """));
        string message = Assert.Single(run.GeneratorDiagnostics, d => d.Id == "KS0005").GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("K__tile16384", message);
        Assert.Contains("LargeSharedMemory = true", message);
    }

    [Fact]
    public void Over_227_KB_with_the_opt_in_is_KS0005()
    {
        var run = GeneratorHarness.Run(KernelSources.InClass("""
                [Kernel(GroupSize = "32", LargeSharedMemory = true)]
                public static void K(ArrayView<float> x, [Constant(16384, 65536)] int tile)
                {
                    var shared = SharedMemory.Allocate<float>(tile);
                    shared[Group.IdxX] = x[Group.IdxX];
                }
            """));
        var diagnostic = Assert.Single(run.GeneratorDiagnostics, d => d.Id == "KS0005");
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("K__tile65536", message);
        Assert.Contains("262144 bytes", message);
        Assert.Contains("227 KB", message);
    }
}
