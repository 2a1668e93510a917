using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// An accelerator plus the per-device state the generated launchers need: the cache of compiled kernel variants
/// and the autotuner's choices. Create one per device and reuse it; compiled kernels live as long as it does.
/// </summary>
public sealed class KernelDevice : IDisposable
{
    private readonly ConcurrentDictionary<string, object> kernels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> choices = new(StringComparer.Ordinal);
    private readonly object compileLock = new();

    private KernelDevice(Context context, Accelerator accelerator, KernelBackend backend)
    {
        Context = context;
        Accelerator = accelerator;
        Backend = backend;
        Name = $"{backend}:{accelerator.Name}";
    }

    public Context Context { get; }

    public Accelerator Accelerator { get; }

    public KernelBackend Backend { get; }

    /// <summary>Backend and device name; the autotuner keys its saved choices by it.</summary>
    public string Name { get; }

    /// <summary>Creates a device of the given backend; throws <see cref="InvalidOperationException"/> when none is present.</summary>
    public static KernelDevice Create(KernelBackend backend) => Create(backend, 0);

    /// <summary>
    /// Creates device number <paramref name="ordinal"/> of the backend: for CUDA the driver's device ordinal (as
    /// <c>nvidia-smi</c> and NCCL number GPUs), for OpenCL the index among ILGPU's OpenCL devices; the CPU backends have
    /// only device 0. Throws <see cref="InvalidOperationException"/> naming the devices present when there is no such device.
    /// </summary>
    public static KernelDevice Create(KernelBackend backend, int ordinal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        switch (backend)
        {
            case KernelBackend.FastCpu:
            case KernelBackend.IlgpuCpu:
            {
                // The NVIDIA-like CPU device has 32-lane warps and up to 1024 threads per group, matching the
                // group-size contract of KernelSharp kernels (ILGPU's default CPU device has 4-lane warps).
                if (ordinal != 0)
                {
                    throw new InvalidOperationException($"the {backend} backend has one device (0), not device {ordinal}");
                }

                var context = CreateContext(b => b.CPU(CPUDevice.Nvidia));
                return new KernelDevice(context, context.CreateCPUAccelerator(0), backend);
            }
            case KernelBackend.Cuda:
            {
                var context = CreateContext(b => b.Cuda());
                var devices = context.GetCudaDevices();
                if (devices.Count == 0)
                {
                    context.Dispose();
                    throw new InvalidOperationException("No CUDA device found: install the NVIDIA driver or pick another backend (FastCpu, OpenCL).");
                }

                var cudaDevices = new List<CudaDevice>(devices.Count);
                for (var i = 0; i < devices.Count; i++)
                {
                    cudaDevices.Add(devices[i]);
                }

                var device = cudaDevices.Find(d => d.DeviceId == ordinal);
                if (device is null)
                {
                    context.Dispose();
                    throw new InvalidOperationException($"there is no CUDA device {ordinal}: this machine has {cudaDevices.Count} ({string.Join(", ", cudaDevices.Select(d => $"{d.DeviceId}: {d.Name}"))})");
                }

                return new KernelDevice(context, device.CreateAccelerator(context), backend);
            }
            case KernelBackend.OpenCL:
            {
                var context = CreateContext(b => b.OpenCL());
                var devices = context.GetCLDevices();
                if (devices.Count == 0)
                {
                    context.Dispose();
                    throw new InvalidOperationException("No OpenCL device found: install an OpenCL driver or pick another backend (FastCpu, Cuda).");
                }

                if (ordinal >= devices.Count)
                {
                    context.Dispose();
                    throw new InvalidOperationException($"there is no OpenCL device {ordinal}: this machine has {devices.Count}");
                }

                return new KernelDevice(context, devices[ordinal].CreateAccelerator(context), backend);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "unknown kernel backend");
        }
    }

    /// <summary>The fastest backend present: CUDA, then an OpenCL GPU, then the generated CPU path.</summary>
    public static KernelDevice CreateBest()
    {
        foreach (var backend in new[] { KernelBackend.Cuda, KernelBackend.OpenCL })
        {
            try
            {
                var device = Create(backend);
                if (device.Accelerator.AcceleratorType != AcceleratorType.CPU)
                    return device;
                device.Dispose();
            }
            catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or TypeInitializationException or ILGPU.Runtime.AcceleratorException)
            {
                // Backend not installed on this machine: try the next one.
            }
        }
        return Create(KernelBackend.FastCpu);
    }

    private static Context CreateContext(Action<Context.Builder> devices)
    {
        var context = Context.Create(builder =>
        {
            devices(builder);
            builder.EnableAlgorithms();
            builder.Optimize(OptimizationLevel.O2);
        });
        // KernelSharp's PTX/OpenCL intrinsics (tensor cores, warp reductions) must be known before any kernel compiles.
        KernelSharpIntrinsics.Register(context);
        return context;
    }

    /// <summary>A dense 1-D buffer of <paramref name="length"/> elements on this device (host memory for the CPU backends).</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length) where T : unmanaged
    {
        Bind();
        return Accelerator.Allocate1D<T>(length);
    }

    /// <summary>
    /// The stream the generated launchers queue their kernels on: the accelerator's default stream. Launchers name it
    /// rather than loading kernels bound to the default stream so that a caller can later direct a whole step onto
    /// one stream, the precondition for recording it with the driver's stream capture (the default stream of ILGPU's
    /// CUDA accelerator is the legacy stream, which cannot be captured).
    /// </summary>
    public AcceleratorStream Stream => Accelerator.DefaultStream;

    /// <summary>Waits for every launched kernel and copy to finish.</summary>
    public void Synchronize()
    {
        Bind();
        Accelerator.Synchronize();
    }

    /// <summary>
    /// Makes this device's context current on the calling thread. A CUDA context is current per thread, and the last
    /// accelerator created or disposed on a thread (another device, a probe) changes it: launching, copying or unloading
    /// a module under the wrong context fails with "invalid resource handle" (seen on the H200).
    /// </summary>
    public void Bind() => Accelerator.Bind();

    /// <summary>
    /// The compiled kernel cached under <paramref name="key"/> (a variant's full name), compiling it with
    /// <paramref name="load"/> on first use. Used by the generated launchers.
    /// </summary>
    public TKernel GetOrLoadKernel<TKernel>(string key, Func<Accelerator, TKernel> load) where TKernel : class
    {
        // Every generated launch passes through here: bind first so the launch runs under this device's context.
        Bind();
        Profile?.BeforeLaunch(this, key);
        if (kernels.TryGetValue(key, out var cached))
            return (TKernel)cached;
        return (TKernel)kernels.GetOrAdd(key, _ => KernelCompilationException.Wrap(key, Name, () => Compile(load)));
    }

    /// <summary>
    /// Compiles and loads a kernel, then drops ILGPU's intermediate representation of everything compiled so far. The
    /// context keeps that IR for reuse, and it grows by megabytes per kernel: compiling the 120 instantiations of the
    /// tensor-core GEMM and GEMV into one context left 3 GB of live objects, which every full garbage collection of the
    /// process then walks (1.7-6.6 s per collection there, docs/perf/raw/2026-12-07-ilgpu-ir-heap). In a GPU run such
    /// collections showed up as the 130-170 ms pauses behind an 8K prompt's occasional slow repetitions on mid-5b.
    /// Clearing after each compile makes a later compile import its callees' IR again: 6% more compile time over those
    /// 120 kernels, for a heap of 1 MB instead of 3 GB. The loaded kernels are not touched.
    /// <see cref="ClearCacheMode.Default"/> and not <c>Everything</c>: both drop the IR (ILGPU's IR context clears its
    /// methods in either mode), but <c>Everything</c> also makes ILGPU start a new collectible dynamic assembly for the
    /// launchers it emits, one per compile here: thousands in a test process, the pattern ILGPU's own test suite turned
    /// off after running out of memory with many runtime assemblies, and the change under which the CI's test process
    /// crashed once (not reproduced on this machine).
    /// </summary>
    private TKernel Compile<TKernel>(Func<Accelerator, TKernel> load)
    {
        lock (compileLock) // no compile may run in this context while its caches are cleared
        {
            var kernel = load(Accelerator);
            Context.ClearCache(ClearCacheMode.Default);
            return kernel;
        }
    }

    /// <summary>
    /// Charges a generated CPU-path launch of <paramref name="kernel"/> to <see cref="Profile"/>: FastCpu launches run
    /// on host threads and never reach <see cref="GetOrLoadKernel{TKernel}"/>, so their launchers call this instead.
    /// </summary>
    public void ChargeHostLaunch(string kernel) => Profile?.BeforeLaunch(this, kernel);

    /// <summary>The launch profile charged by this device's launches: <see cref="LaunchProfile.Current"/> by default (null unless KS_PROFILE=1).</summary>
    public LaunchProfile? Profile { get; set; } = LaunchProfile.Current;

    /// <summary>Number of compiled kernels cached on this device.</summary>
    public int CachedKernelCount => kernels.Count;

    /// <summary>The autotuner's in-memory choices for this device (kernel|shape → candidate index).</summary>
    internal ConcurrentDictionary<string, int> Choices => choices;

    /// <summary>The same choices by launcher site and shape values (<see cref="KernelAutotuner.TryRecall"/>).</summary>
    internal ConcurrentDictionary<(TuningSite Site, TuningShape Shape), int> Recalled { get; } = new();

    public override string ToString() => Name;

    public void Dispose()
    {
        kernels.Clear();
        Bind();
        Accelerator.Dispose();
        Context.Dispose();
    }
}
