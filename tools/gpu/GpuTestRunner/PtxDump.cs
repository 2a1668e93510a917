using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using KernelSharp.Dsl;

/// <summary>
/// `GpuTestRunner ptx DIR`: writes the PTX of every generated kernel variant of KernelSharp.Kernels, compiled by the
/// backend of the CUDA accelerator present (the exact text the driver JIT receives), so `ptxas -v` can explain a
/// "PTX JIT compilation failed" and report registers, spills and stack frames.
/// </summary>
internal static class PtxDump
{
    public static int Run(string outDir)
    {
        Directory.CreateDirectory(outDir);
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        KernelSharpIntrinsics.Register(context);
        using var accelerator = context.GetCudaDevice(0).CreateAccelerator(context);
        var backend = (PTXBackend)accelerator.GetBackend();
        var assembly = typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly;
        int ok = 0, failed = 0;
        foreach (var type in assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.Name.Contains("__")))
            {
                try
                {
                    var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), new KernelSpecialization());
                    File.WriteAllText(Path.Combine(outDir, $"{type.Name}.{method.Name}.ptx"), compiled.PTXAssembly);
                    ok++;
                }
                catch (Exception e)
                {
                    Console.WriteLine($"{type.Name}.{method.Name}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                    failed++;
                }
            }
        }
        Console.WriteLine($"ptx written {ok}, failed {failed}");
        return failed == 0 ? 0 : 1;
    }
}
