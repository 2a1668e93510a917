using KernelSharp.Kernels.Norms;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Norms;

/// <summary>RMSNorm and the fused residual-add RMSNorm against the float64 reference.</summary>
public abstract class RmsNormTests(BackendFixture backend) : BackendTestBase(backend)
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        // rows, n, groupSize
        { 1, 1, 1 },
        { 1, 7, 256 },
        { 3, 130, 1 },
        { 3, 130, 256 },
        { 5, 1027, 256 },
        { 2, 4096, 1 },
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Matches_reference(int rows, int n, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 31 + n);
        float[] input = RandomTensors.Normal(random, (long)rows * n, 3f);
        float[] weight = RandomTensors.Uniform(random, n, 2f);
        const float eps = 1e-6f;
        double[] expected = RmsNormReference.Normalize(input, weight, rows, n, eps);

        using var x = Upload(input);
        using var w = Upload(weight);
        using var y = Allocate<float>((long)rows * n);
        Launch(typeof(RmsNormKernels).GetMethod(nameof(RmsNormKernels.RmsNorm))!, Config(rows, 1, groupSize),
            x.View, w.View, y.View, rows, n, eps, groupSize);

        Tolerance.AssertClose(expected, Download(y), Tolerance.Fp32, "rmsnorm output");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fused_residual_add_matches_reference(int rows, int n, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 37 + n);
        float[] input = RandomTensors.Normal(random, (long)rows * n);
        float[] residual = RandomTensors.Normal(random, (long)rows * n, 2f);
        float[] weight = RandomTensors.Uniform(random, n, 2f);
        const float eps = 1e-6f;
        var (expectedResidual, expected) = RmsNormReference.AddAndNormalize(input, residual, weight, rows, n, eps);

        using var x = Upload(input);
        using var r = Upload(residual);
        using var w = Upload(weight);
        using var y = Allocate<float>((long)rows * n);
        Launch(typeof(RmsNormKernels).GetMethod(nameof(RmsNormKernels.RmsNormResidual))!, Config(rows, 1, groupSize),
            x.View, r.View, w.View, y.View, rows, n, eps, groupSize);

        Tolerance.AssertClose(expectedResidual, Download(r), new Tolerance(0, 0), "updated residual (exact fp32 sum)");
        Tolerance.AssertClose(expected, Download(y), Tolerance.Fp32, "rmsnorm output");
    }

    [SkippableTheory]
    [InlineData(1, 64, 0, 1, false)]
    [InlineData(256, 64, 0, 1, false)]
    [InlineData(1, 130, 5, 3, false)]
    [InlineData(256, 512, 7, 4, false)]
    [InlineData(256, 512, 8, 1, false)]
    [InlineData(1, 130, 5, 3, true)]     // output rows scattered over a paged pool, in reverse order with gaps
    [InlineData(256, 512, 7, 4, true)]
    public void Rows_inside_wider_rows_match_reference(int groupSize, int n, int inputPadding, int rows, bool scattered)
    {
        RequireBackend();
        var random = NewRandom(groupSize + n + inputPadding + rows);
        // Input rows [n ‖ inputPadding more], starting after one leading row's worth of junk; output rows [3 ‖ n ‖ 2].
        int inputStride = n + inputPadding, outputStride = n + 5;
        long inputOffset = inputStride + 2, outputOffset = 3;
        float[] input = RandomTensors.Normal(random, inputOffset + (long)rows * inputStride, 2f);
        float[] weight = RandomTensors.Uniform(random, n, 2f);
        int[] outputRows = Enumerable.Range(0, rows).Select(r => scattered ? 2 * (rows - 1 - r) + 1 : r).ToArray();
        int outputRowCount = scattered ? 2 * rows + 1 : rows;
        float[] initial = RandomTensors.Normal(random, outputOffset + (long)outputRowCount * outputStride);
        const float eps = 1e-6f;
        double[] expected = RmsNormReference.NormalizeRows(input, inputStride, inputOffset, weight, rows, n, eps);

        using var x = Upload(input);
        using var w = Upload(weight);
        using var y = Upload(initial);
        using var yRows = Upload(outputRows);
        Launch(typeof(RmsNormKernels).GetMethod(nameof(RmsNormKernels.RmsNormRows))!, Config(rows, 1, groupSize),
            x.View, w.View, y.View, yRows.View, rows, n, inputStride, inputOffset, outputStride, outputOffset, eps, groupSize);

        float[] result = Download(y);
        var written = new float[(long)rows * n]; // [rows, n] what landed in the output rows
        var expectedAll = initial.Select(v => (double)v).ToArray();
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < n; i++)
            {
                long at = outputOffset + (long)outputRows[r] * outputStride + i;
                written[(long)r * n + i] = result[at];
                expectedAll[at] = result[at]; // checked against the reference below
            }
        }
        Tolerance.AssertClose(expected, written, Tolerance.Fp32, "normalized rows");
        Tolerance.AssertClose(expectedAll, result, new Tolerance(0, 0), "output outside the written rows (untouched)");
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(256)]
    public void Views_at_an_unaligned_offset_take_the_scalar_path(int groupSize)
    {
        RequireBackend();
        var random = NewRandom(groupSize + 3);
        const int rows = 2, n = 64;
        float[] input = RandomTensors.Normal(random, rows * n);
        float[] weight = RandomTensors.Uniform(random, n);
        double[] expected = RmsNormReference.Normalize(input, weight, rows, n, 1e-6f);

        // One float of padding in front: every row of the sub-view starts 4 bytes past a 16-byte boundary.
        using var x = Upload([0f, .. input]);
        using var w = Upload(weight);
        using var y = Allocate<float>(rows * n + 1);
        Launch(typeof(RmsNormKernels).GetMethod(nameof(RmsNormKernels.RmsNorm))!, Config(rows, 1, groupSize),
            x.View.SubView(1, rows * n), w.View, y.View.SubView(1, rows * n), rows, n, 1e-6f, groupSize);

        Tolerance.AssertClose(expected, Download(y).AsSpan(1).ToArray(), Tolerance.Fp32, "rmsnorm on offset views");
    }

    [SkippableFact]
    public void In_place_output_is_allowed()
    {
        RequireBackend();
        var random = NewRandom(5);
        const int rows = 4, n = 300;
        float[] input = RandomTensors.Normal(random, rows * n);
        float[] weight = RandomTensors.Uniform(random, n);
        double[] expected = RmsNormReference.Normalize(input, weight, rows, n, 1e-5f);

        using var x = Upload(input);
        using var w = Upload(weight);
        Launch(typeof(RmsNormKernels).GetMethod(nameof(RmsNormKernels.RmsNorm))!, Config(rows, 1, 256),
            x.View, w.View, x.View, rows, n, 1e-5f, 256);

        Tolerance.AssertClose(expected, Download(x), Tolerance.Fp32, "rmsnorm in place");
    }
}

public sealed class RmsNormTests_FastCpu(FastCpuBackend b) : RmsNormTests(b), IClassFixture<FastCpuBackend>;
public sealed class RmsNormTests_IlgpuCpu(IlgpuCpuBackend b) : RmsNormTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class RmsNormTests_Cuda(CudaBackend b) : RmsNormTests(b), IClassFixture<CudaBackend>;
public sealed class RmsNormTests_OpenCL(OpenCLBackend b) : RmsNormTests(b), IClassFixture<OpenCLBackend>;
