// Per-backend test scaffolding shared by every kernel test in this project.
//
// How to use it (one abstract class per operation, one one-line sealed class per backend):
//
//   using Xunit;  (no global usings in this project: add it per file)
//
//   public abstract class RmsNormTests(BackendFixture backend) : BackendTestBase(backend)
//   {
//       [SkippableFact]                       // SkippableFact/SkippableTheory so unavailable GPUs report "skipped"
//       public void Matches_reference()
//       {
//           RequireBackend();                 // first line of every test: skips when the device is absent
//           using var x = Upload(hostInput);  // host array -> device buffer on this backend
//           Launch(typeof(RmsNormKernels).GetMethod(nameof(RmsNormKernels.RmsNorm))!, Config(rows, 1, 256), x.View, ..., 256);
//           // FastCpu runs the generated RmsNormCpu, other backends the variant RmsNorm__groupSize256 (or the kernel
//           // as written when no variant folds the given constants). LaunchGeneric always runs the kernel as written.
//           float[] actual = Download(y);
//           Tolerance.AssertClose(expected, actual, Tolerance.Fp32, "rmsnorm out");
//       }
//   }
//   public sealed class RmsNormTests_FastCpu(FastCpuBackend b) : RmsNormTests(b), IClassFixture<FastCpuBackend>;
//   public sealed class RmsNormTests_IlgpuCpu(IlgpuCpuBackend b) : RmsNormTests(b), IClassFixture<IlgpuCpuBackend>;
//   public sealed class RmsNormTests_Cuda(CudaBackend b) : RmsNormTests(b), IClassFixture<CudaBackend>;
//   public sealed class RmsNormTests_OpenCL(OpenCLBackend b) : RmsNormTests(b), IClassFixture<OpenCLBackend>;
//
// A fixture lives as long as its test class. CUDA/OpenCL fixtures own their context and accelerator. FastCpu and
// IlgpuCpu share ONE process-wide ILGPU CPU accelerator (32-lane warps, groups of at most 256 threads): every
// simulated lane is an OS thread and its barriers are slow, so keep CPU-accelerator tests to a few groups of a
// kernel that uses group collectives (a dozen groups of 128–256 threads take seconds on 2 cores).
// The generated launchers (LaunchName(KernelDevice, ...)) are tested in LauncherTests.cs with their own devices.
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>The backends every kernel test runs on (same names as the launcher's <c>KernelBackend</c>).</summary>
public enum TestBackend
{
    FastCpu,
    IlgpuCpu,
    Cuda,
    OpenCL,
}

/// <summary>
/// One backend for the duration of a test class: an ILGPU context and accelerator when the device exists,
/// otherwise the reason it does not (tests then skip).
/// </summary>
public abstract class BackendFixture : IDisposable
{
    private readonly Context? context;
    private readonly Accelerator? accelerator;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<System.Reflection.MethodInfo, Kernel> kernels = new();

    protected BackendFixture(TestBackend backend)
    {
        Backend = backend;
        try
        {
            (context, accelerator) = Open(backend);
        }
        catch (Exception e) when (backend is TestBackend.Cuda or TestBackend.OpenCL)
        {
            // A missing GPU or driver is not a failure of the kernel under test: the tests report as skipped.
            context?.Dispose();
            context = null;
            UnavailableReason = $"{backend} device unavailable: {e.GetType().Name}: {e.Message}";
        }
    }

    public TestBackend Backend { get; }

    /// <summary>Null when the device exists; otherwise why the tests of this backend are skipped.</summary>
    public string? UnavailableReason { get; private set; }

    public Accelerator Accelerator => accelerator ?? throw new InvalidOperationException(UnavailableReason);

    public override string ToString() => Backend.ToString();

    /// <summary>
    /// Launches a kernel method as written (the generic variant, every [Constant] passed as an argument) on this
    /// backend's accelerator and waits for it. Compiled kernels are cached per method for the fixture's lifetime.
    /// </summary>
    public void LaunchGeneric(System.Reflection.MethodInfo kernel, KernelConfig config, params object[] arguments)
    {
        lock (Accelerator is CPUAccelerator ? SharedCpuAccelerator.LaunchLock : kernels)
        {
            var compiled = kernels.GetOrAdd(kernel, k => Accelerator.LoadKernel(k));
            // A large-shared-memory variant asks for dynamic shared memory; CUDA needs the kernel's limit raised first.
            int dynamicBytes = config.SharedMemoryConfig.ArraySize;
            if (dynamicBytes > 0)
                KernelSharp.Dsl.Launch.LargeSharedMemory.Allow(compiled, Accelerator, dynamicBytes, kernel.Name);
            compiled.Launch(Accelerator.DefaultStream, config, arguments.Select(ToKernelArgument).ToArray());
            Accelerator.Synchronize();
        }
    }

    public void Dispose()
    {
        if (context is not null)
        {
            accelerator?.Dispose(); // the shared CPU accelerator has no context here and stays alive
            context.Dispose();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Buffers' dense 1D views become the <c>ArrayView&lt;T&gt;</c> kernels take (reflection skips implicit conversions).</summary>
    internal static object ToKernelArgument(object argument)
    {
        var type = argument.GetType();
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ArrayView1D<,>))
        {
            return type.GetMethod("AsContiguous")!.Invoke(argument, null)!;
        }
        return argument;
    }

    private (Context?, Accelerator?) Open(TestBackend backend)
    {
        switch (backend)
        {
            case TestBackend.FastCpu:
            case TestBackend.IlgpuCpu:
                // Shared by every CPU test class: each ILGPU CPU accelerator runs one OS thread per simulated lane,
                // and several of them at once oversubscribe a small machine badly. Not owned: never disposed here.
                return (null, SharedCpuAccelerator.Instance);
            case TestBackend.Cuda:
            {
                var cudaContext = Context.Create(b => b.Cuda().EnableAlgorithms());
                KernelSharp.Dsl.KernelSharpIntrinsics.Register(cudaContext); // warp/group/tensor-core intrinsics
                if (cudaContext.GetCudaDevices().Count == 0)
                {
                    UnavailableReason = "no CUDA device";
                    return (cudaContext, null);
                }
                return (cudaContext, cudaContext.CreateCudaAccelerator(0));
            }
            case TestBackend.OpenCL:
            {
                var clContext = Context.Create(b => b.OpenCL().EnableAlgorithms());
                KernelSharp.Dsl.KernelSharpIntrinsics.Register(clContext);
                if (clContext.GetCLDevices().Count == 0)
                {
                    UnavailableReason = "no OpenCL device usable by ILGPU";
                    return (clContext, null);
                }
                return (clContext, clContext.CreateCLAccelerator(0));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "unknown backend");
        }
    }
}

/// <summary>
/// The one ILGPU CPU accelerator of the test process: warps of 32 lanes (like the GPUs the kernels target) and
/// groups of up to 256 threads (8 warps). Launches on it are serialized by <see cref="BackendFixture.LaunchGeneric"/>.
/// </summary>
internal static class SharedCpuAccelerator
{
    public const int MaxGroupSize = 256;

    private static readonly Lazy<Accelerator> Lazy = new(() =>
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(32, MaxGroupSize / 32, 1)).EnableAlgorithms());
        return context.CreateCPUAccelerator(0);
    });

    public static Accelerator Instance => Lazy.Value;

    public static readonly object LaunchLock = new();
}

/// <summary>The generated CPU path (host threads over CPU-accelerator memory).</summary>
public sealed class FastCpuBackend() : BackendFixture(TestBackend.FastCpu);

/// <summary>ILGPU's own CPU accelerator running the IL of the kernel variants (the GPU semantics on the host).</summary>
public sealed class IlgpuCpuBackend() : BackendFixture(TestBackend.IlgpuCpu);

/// <summary>The first CUDA device; skipped when none.</summary>
public sealed class CudaBackend() : BackendFixture(TestBackend.Cuda);

/// <summary>The first usable OpenCL device; skipped when none.</summary>
public sealed class OpenCLBackend() : BackendFixture(TestBackend.OpenCL);
