using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// One kernel backend per kind with <see cref="PrefillMatmul.TensorCores"/>, shared by the classes of
/// <see cref="KernelBackendCollection"/> (kept apart from <see cref="KernelBackendFixture"/>, whose backends the
/// exact-contract tests share).
/// </summary>
public sealed class TensorCorePrefillFixture : IDisposable
{
    private readonly Dictionary<KernelBackend, KernelModelBackend> backends = [];

    public KernelModelBackend Get(KernelBackend kind)
    {
        lock (backends)
        {
            if (!backends.TryGetValue(kind, out var backend))
            {
                backend = KernelModelBackend.Create(kind);
                backend.PrefillMatmul = PrefillMatmul.TensorCores;
                backends[kind] = backend;
            }

            return backend;
        }
    }

    public void Dispose()
    {
        foreach (var backend in backends.Values)
        {
            backend.Dispose();
        }
    }
}
