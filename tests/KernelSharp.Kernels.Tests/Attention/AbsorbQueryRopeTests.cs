using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Rope;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>The absorb projection with the query rope folded in, against the rope reference followed by the absorb reference.</summary>
public abstract class AbsorbQueryRopeTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1, 5, 32, 16, 24, 136)]
    [InlineData(3, 2, 16, 64, 16, 64)]
    public void Matches_rope_then_absorb(int queryCount, int heads, int nopeDim, int ropeDim, int valueDim, int latentDim)
    {
        RequireBackend();
        var random = NewRandom(queryCount * 7 + heads + ropeDim);
        float[] q = RandomTensors.Normal(random, (long)queryCount * heads * (nopeDim + ropeDim)); // [Q, H, nope+R]
        float[] kvB = RandomTensors.Normal(random, (long)heads * (nopeDim + valueDim) * latentDim, 0.2f); // [H·(nope+v), L]
        const int maxPosition = 2000;
        int[] positions = RandomTensors.Indices(random, queryCount, maxPosition);
        var (cos, sin) = RopeFrequencies.Yarn(ropeDim, 10000, 40, 4096, 32, 1, 1, 1).BuildTables(maxPosition);
        double[] expected = MlaProjectionsReference.AbsorbQueryRope(q, positions, cos, sin, kvB, queryCount, heads, nopeDim, ropeDim, valueDim, latentDim);

        using var qs = Upload(q);
        using var w = Upload(kvB);
        using var p = Upload(positions);
        using var c = Upload(cos);
        using var s = Upload(sin);
        using var queries = Allocate<float>((long)queryCount * heads * (latentDim + ropeDim));
        Launch(typeof(MlaKernels).GetMethod(nameof(MlaKernels.AbsorbQueryRope))!, Config(queryCount * heads, (latentDim + ropeDim + 127) / 128, 128),
            qs.View, new F32Rows(w.View), queries.View, p.View, c.View, s.View, queryCount, heads, nopeDim, ropeDim, valueDim, latentDim);

        Tolerance.AssertClose(expected, Download(queries), new Tolerance(1e-4, 1e-5), "[q_abs ‖ rope(q_pe)]");
    }
}

public sealed class AbsorbQueryRopeTests_FastCpu(FastCpuBackend b) : AbsorbQueryRopeTests(b), IClassFixture<FastCpuBackend>;
public sealed class AbsorbQueryRopeTests_IlgpuCpu(IlgpuCpuBackend b) : AbsorbQueryRopeTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class AbsorbQueryRopeTests_Cuda(CudaBackend b) : AbsorbQueryRopeTests(b), IClassFixture<CudaBackend>;
public sealed class AbsorbQueryRopeTests_OpenCL(OpenCLBackend b) : AbsorbQueryRopeTests(b), IClassFixture<OpenCLBackend>;
