using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Paging;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Base of every per-backend kernel test class (see the comment at the top of BackendFixture.cs): device buffers from
/// host arrays and back, the skip rule for absent devices, and kernel launches (generated CPU path, folded
/// variant or the kernel as written).
/// </summary>
public abstract class BackendTestBase(BackendFixture backend)
{
    protected BackendFixture Backend { get; } = backend;

    protected Accelerator Accelerator => Backend.Accelerator;

    /// <summary>Call first in every test: an absent GPU or OpenCL device makes the test report as skipped.</summary>
    protected void RequireBackend() => Skip.If(Backend.UnavailableReason is not null, Backend.UnavailableReason);

    /// <summary>A seeded generator per test: random inputs that reproduce when a test fails.</summary>
    protected static Random NewRandom(int seed) => new(seed);

    protected MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] host)
        where T : unmanaged
    {
        // ILGPU refuses zero-length buffers on some backends: keep at least one element.
        var buffer = Accelerator.Allocate1D<T>(Math.Max(1, host.Length));
        if (host.Length > 0)
        {
            buffer.View.SubView(0, host.Length).CopyFromCPU(host);
        }
        return buffer;
    }

    /// <summary>A host key-page map on this backend's accelerator (dispose it after the launch).</summary>
    protected DeviceKeyPages Upload(KeyPagesReference pages) => new(Accelerator, pages);

    protected MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length)
        where T : unmanaged
    {
        var buffer = Accelerator.Allocate1D<T>(Math.Max(1, length));
        buffer.MemSetToZero();
        return buffer;
    }

    protected static T[] Download<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, long length = -1)
        where T : unmanaged
    {
        long count = length < 0 ? buffer.Length : length;
        var host = new T[count];
        buffer.View.SubView(0, count).CopyToCPU(host);
        return host;
    }

    /// <summary>gridX × gridY groups of groupSize threads (the [Kernel] attribute's Grid, GridY and GroupSize).</summary>
    protected static KernelConfig Config(int gridX, int gridY, int groupSize) =>
        new(new Index3D(gridX, gridY, 1), new Index3D(groupSize, 1, 1));

    /// <summary>
    /// Runs a kernel the way the library does on this backend, with every parameter passed (constants included):
    /// FastCpu calls the generated CPU path <c>NameCpu</c> on the host; the other backends launch the generated
    /// variant folding the given [Constant] values (<c>Name__groupSize256</c>), or the kernel as written when no
    /// variant folds them (a constant value outside the listed ones, or a build without the generator).
    /// </summary>
    protected void Launch(MethodInfo kernel, KernelConfig config, params object[] arguments)
    {
        var converted = arguments.Select(BackendFixture.ToKernelArgument).ToArray();
        var kernels = kernel.DeclaringType!;
        if (Backend.Backend == TestBackend.FastCpu)
        {
            var cpuPath = kernels.GetMethod(kernel.Name + "Cpu", BindingFlags.Public | BindingFlags.Static);
            Skip.If(cpuPath is null, $"{kernels.Name}.{kernel.Name} has no generated CPU path (built with KsNoGenerator=true?)");
            Accelerator.Synchronize();
            GenericKernels.Instantiate(cpuPath!, converted).Invoke(null, BindingFlags.DoNotWrapExceptions, null, converted, null);
            return;
        }
        var parameters = kernel.GetParameters();
        int[] constants = Enumerable.Range(0, parameters.Length)
            .Where(i => parameters[i].GetCustomAttribute<ConstantAttribute>() is not null)
            .ToArray();
        if (constants.Length > 0)
        {
            string suffix = string.Join("_", constants.Select(i => $"{parameters[i].Name}{converted[i]}"));
            var variant = kernels.GetMethod($"{kernel.Name}__{suffix}", BindingFlags.Public | BindingFlags.Static);
            if (variant is not null)
            {
                var variantArguments = converted.Where((_, i) => !constants.Contains(i)).ToArray();
                Backend.LaunchGeneric(GenericKernels.Instantiate(variant, variantArguments), WithDynamicShared(kernels, kernel.Name, variant.Name, config), variantArguments);
                return;
            }
        }
        Backend.LaunchGeneric(GenericKernels.Instantiate(kernel, converted), config, converted);
    }

    /// <summary>
    /// <paramref name="config"/> plus the dynamic shared memory the generated variant list gives a large-shared-memory
    /// variant (<c>NameVariants</c>, <c>DynamicSharedBytes</c>); unchanged for every other variant.
    /// </summary>
    private static KernelConfig WithDynamicShared(Type kernels, string kernel, string variant, KernelConfig config)
    {
        var list = kernels.GetProperty(kernel + "Variants", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as IEnumerable<KernelSharp.Dsl.Launch.KernelVariantInfo>;
        int bytes = list?.FirstOrDefault(v => v.Method == variant)?.DynamicSharedBytes ?? 0;
        return bytes == 0 ? config : new KernelConfig(config.GridDim, config.GroupDim, SharedMemoryConfig.RequestDynamic<byte>(bytes));
    }

    protected void LaunchGeneric(System.Reflection.MethodInfo kernel, KernelConfig config, params object[] arguments) =>
        Backend.LaunchGeneric(kernel, config, arguments);
}
