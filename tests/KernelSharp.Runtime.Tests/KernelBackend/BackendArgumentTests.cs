using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The same wrong call to the fp32 reference backend and to the kernel backend (generated CPU path) fails with the same exception
/// and message: the argument rules of the contract are written once (BackendArguments), not once per backend.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class BackendArgumentTests(KernelBackendFixture fixture)
{
    private const float Eps = 1e-6f;

    /// <summary>1 head of [nope 4 ‖ rope 4], value 4, latent 8: sizes the kernel backend's MLA tile accepts.</summary>
    private static readonly MlaDimensions Dims = new(Heads: 1, NopeDim: 4, RopeDim: 4, ValueDim: 4, LatentDim: 8);

    private static readonly Dictionary<string, (Action<IModelBackend> Call, Type Exception, string Message)> Cases = new()
    {
        ["Upload floats"] = (b => b.Upload(new float[5], 2, 3), typeof(ArgumentException), "expected 2×3 values, got 5"),
        ["Upload indices"] = (b => b.Upload(new int[7], 2, 3), typeof(ArgumentException), "expected 2×3 values, got 7"),
        ["WriteRows past the destination"] = (b => b.WriteRows(b.Allocate(5, 2), 4, b.Allocate(3, 3), 0, 2, 0), typeof(ArgumentOutOfRangeException),
            "cannot copy 2 rows of [3, 3] (row 0, column 0) to row 4 of [5, 2] (Parameter 'destinationRow')"),
        ["WriteRows negative count"] = (b => b.WriteRows(b.Allocate(5, 2), 0, b.Allocate(3, 3), 0, -1, 0), typeof(ArgumentOutOfRangeException),
            "cannot copy -1 rows of [3, 3] (row 0, column 0) to row 0 of [5, 2] (Parameter 'destinationRow')"),
        ["WriteRotatedRows past the destination"] = (
            b => b.WriteRotatedRows(b.Allocate(5, 4), 4, b.Allocate(3, 4), 0, 2, 0, 0, b.Allocate(3, 2), b.Allocate(3, 2), RopeLayout.Interleaved),
            typeof(ArgumentOutOfRangeException), "cannot copy 2 rows of [3, 4] (row 0, column 0) to row 4 of [5, 4] (Parameter 'destinationRow')"),
        ["WriteRotatedRows rope past the row"] = (
            b => b.WriteRotatedRows(b.Allocate(5, 4), 0, b.Allocate(3, 4), 0, 2, 0, 2, b.Allocate(3, 2), b.Allocate(3, 2), RopeLayout.Interleaved),
            typeof(ArgumentException), "rope tables [3, 2]/[3, 2] do not fit rows of [3, 4] rotated at column 2 into [5, 4]"),
        ["WriteRotatedRows rope table rows"] = (
            b => b.WriteRotatedRows(b.Allocate(5, 4), 0, b.Allocate(3, 4), 0, 2, 0, 0, b.Allocate(2, 2), b.Allocate(3, 2), RopeLayout.HalfSplit),
            typeof(ArgumentException), "rope tables [2, 2]/[3, 2] do not fit rows of [3, 4] rotated at column 0 into [5, 4]"),
        ["Linear"] = (b => b.Linear(b.Allocate(2, 3), b.Allocate(4, 5)), typeof(ArgumentException), "linear weight [4, 5] must have 3 columns"),
        ["RmsNorm"] = (b => b.RmsNorm(b.Allocate(2, 3), b.Allocate(1, 4), Eps), typeof(ArgumentException), "RMSNorm weight [1, 4] must have 3 columns"),
        ["AddRmsNorm shapes"] = (b => b.AddRmsNorm(b.Allocate(2, 3), b.Allocate(2, 4), b.Allocate(1, 3), Eps), typeof(ArgumentException),
            "cannot add [2, 4] to [2, 3] (Parameter 'addend')"),
        ["AddRmsNorm weight"] = (b => b.AddRmsNorm(b.Allocate(2, 3), b.Allocate(2, 3), b.Allocate(1, 4), Eps), typeof(ArgumentException),
            "RMSNorm weight [1, 4] must have 3 columns"),
        ["RmsNormRowsInto weight"] = (b => b.RmsNormRowsInto(b.Allocate(4, 3), 0, b.Allocate(2, 5), 0, 2, 0, b.Allocate(1, 4), Eps), typeof(ArgumentException),
            "RMSNorm weight [1, 4] must have 3 columns"),
        ["LayerNorm weight"] = (b => b.LayerNorm(b.Allocate(2, 3), b.Allocate(1, 2), b.Allocate(1, 3), Eps), typeof(ArgumentException),
            "LayerNorm weight [1, 2] must have 3 columns"),
        ["LayerNorm bias"] = (b => b.LayerNorm(b.Allocate(2, 3), b.Allocate(1, 3), b.Allocate(1, 2), Eps), typeof(ArgumentException),
            "LayerNorm bias [1, 2] must have 3 columns"),
        ["AddInPlace"] = (b => b.AddInPlace(b.Allocate(2, 3), b.Allocate(3, 2)), typeof(ArgumentException), "cannot add [3, 2] to [2, 3] (Parameter 'addend')"),
        ["ApplyRope"] = (b => b.ApplyRope(b.Allocate(2, 7), 2, 4, 0, b.Allocate(2, 2), b.Allocate(2, 2), RopeLayout.Interleaved), typeof(ArgumentException),
            "rope input [2, 7] must have 8 columns"),
        ["SwiGlu"] = (b => b.SwiGlu(b.Allocate(2, 5)), typeof(ArgumentException),
            "SwiGLU input [2, 5] must have an even number of columns (gate ‖ up) (Parameter 'gateUp')"),
        ["MlaAttention query"] = (b => b.MlaAttention(b.Allocate(1, 7), b.Allocate(8, 8), Dims, 1f, [], null), typeof(ArgumentException),
            "MLA query [1, 7] must have 8 columns"),
        ["MlaAttention query with rope tables"] = (b => b.MlaAttention(b.Allocate(1, 7), b.Allocate(8, 8), Dims, 1f, [], null, b.Allocate(1, 2), b.Allocate(1, 2)),
            typeof(ArgumentException), "MLA query [1, 7] must have 8 columns"),
        ["MlaAttention kv_b_proj"] = (b => b.MlaAttention(b.Allocate(1, 8), b.Allocate(8, 5), Dims, 1f, [], null), typeof(ArgumentException),
            "kv_b_proj [8, 5] must have 8 columns"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Both_backends_refuse_with_the_same_exception_and_message(string name)
    {
        var (call, exceptionType, message) = Cases[name];
        using var cpu = new CpuBackend();
        var kernels = fixture.Get(KernelBackend.FastCpu);

        foreach (var backend in new IModelBackend[] { cpu, kernels })
        {
            var error = Record.Exception(() => call(backend));
            Assert.NotNull(error);
            Assert.Equal((backend.Description, exceptionType), (backend.Description, error.GetType()));
            Assert.Equal((backend.Description, message), (backend.Description, error.Message));
        }
    }
}
