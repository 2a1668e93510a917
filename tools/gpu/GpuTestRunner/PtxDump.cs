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
            foreach (var (method, name) in type.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.Name.Contains("__")).SelectMany(m => Instances(m, assembly)))
            {
                try
                {
                    var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), new KernelSpecialization());
                    File.WriteAllText(Path.Combine(outDir, $"{type.Name}.{name}.ptx"), compiled.PTXAssembly);
                    ok++;
                }
                catch (Exception e)
                {
                    Console.WriteLine($"{type.Name}.{name}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                    failed++;
                }
            }
        }
        Console.WriteLine($"ptx written {ok}, failed {failed}");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// A variant as is, or a generic one closed over every combination of the library's public structs its constraints
    /// accept (row formats, key sources), named <c>Variant[F32Rows,DenseKeys]</c>.
    /// </summary>
    private static IEnumerable<(MethodInfo Method, string Name)> Instances(MethodInfo method, Assembly assembly)
    {
        if (!method.IsGenericMethodDefinition)
        {
            yield return (method, method.Name);
            yield break;
        }

        var structs = assembly.GetTypes().Where(t => t.IsValueType && t.IsPublic && !t.IsGenericType).ToArray();
        var parameters = method.GetGenericArguments();
        IEnumerable<Type[]> combinations = [[]];
        foreach (var parameter in parameters)
        {
            var fits = structs.Where(s => parameter.GetGenericParameterConstraints().All(c => c.IsGenericType
                ? s.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == c.GetGenericTypeDefinition())
                : c.IsAssignableFrom(s))).ToArray();
            combinations = combinations.SelectMany(prefix => fits.Select(fit => prefix.Append(fit).ToArray())).ToArray();
        }

        foreach (var types in combinations)
        {
            MethodInfo closed;
            try
            {
                closed = method.MakeGenericMethod(types);
            }
            catch (ArgumentException)
            {
                continue;
            }

            yield return (closed, $"{method.Name}[{string.Join(",", types.Select(t => t.Name))}]");
        }
    }
}
