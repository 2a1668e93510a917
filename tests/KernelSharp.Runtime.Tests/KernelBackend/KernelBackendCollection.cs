using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The test classes that run the kernel backend share one <see cref="KernelBackendFixture"/> and one
/// <see cref="TensorCorePrefillFixture"/> for the whole test run, and run one after another.
/// <para>
/// Shared: a kernel backend compiles each kernel once per device, and on the ILGPU CPU accelerator that is seconds per
/// kernel; with a fixture per class every class compiled the model's kernels again. One after another: each ILGPU CPU
/// accelerator runs every simulated GPU lane as an OS thread that spins at barriers, so two of them at once on CI's 2
/// cores (xunit runs two collections in parallel there) starve each other and everything else; and the backends are
/// not made for concurrent callers. Tests that need a backend with other settings create their own, and classes that
/// load a whole model on ILGPU's CPU accelerator join the collection to take their turn.
/// </para>
/// </summary>
[CollectionDefinition(Name)]
public sealed class KernelBackendCollection : ICollectionFixture<KernelBackendFixture>, ICollectionFixture<TensorCorePrefillFixture>
{
    public const string Name = "Kernel backends";
}
