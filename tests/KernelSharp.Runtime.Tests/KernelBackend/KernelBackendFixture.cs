using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// One kernel backend per kind, shared by the classes of <see cref="KernelBackendCollection"/> (or by one class that takes it
/// as a class fixture): compiled kernels are cached per device, so each compiles once.
/// </summary>
public sealed class KernelBackendFixture : IDisposable
{
    private readonly Dictionary<KernelBackend, KernelModelBackend> backends = [];

    public KernelModelBackend Get(KernelBackend kind)
    {
        lock (backends)
        {
            if (!backends.TryGetValue(kind, out var backend))
            {
                backend = KernelModelBackend.Create(kind);
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
