using System.Diagnostics;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using KernelSharp.Dsl;

var assembly = typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly;
var structs = assembly.GetTypes().Where(t => t.IsValueType && t.IsPublic && !t.IsGenericTypeDefinition && !t.IsEnum).ToArray();
using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2));
KernelSharpIntrinsics.Register(context);
using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_78, nvvmAPI: null);
double Gc() { var sw = Stopwatch.StartNew(); GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false); return sw.Elapsed.TotalMilliseconds; }
Console.WriteLine($"start: heap {GC.GetTotalMemory(true) / 1e6:F1} MB, gen2 {Gc():F1} ms");
int n = 0; bool clearEach = Environment.GetEnvironmentVariable("CLEAR_EACH") == "1"; var total = Stopwatch.StartNew();
foreach (var method in assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static)).Where(m => m.Name.Contains("__") && args.Any(p => m.Name.StartsWith(p))))
{
    var generic = method.IsGenericMethodDefinition;
    IEnumerable<MethodInfo> instances = !generic ? [method] : structs.SelectMany(a => structs.Select(b => (a, b))).Select(p => { try { return method.GetGenericArguments().Length == 2 ? method.MakeGenericMethod(p.a, p.b) : method.MakeGenericMethod(p.a); } catch (ArgumentException) { return null; } }).Where(m => m != null).Distinct()!;
    foreach (var m in instances) { backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(m!), new KernelSpecialization()); n++; if (clearEach) context.ClearCache(ClearCacheMode.Everything); }
}
Console.WriteLine($"compile time {total.Elapsed.TotalSeconds:F1} s (clear each: {clearEach})");
Console.WriteLine($"{n} kernels compiled: heap {GC.GetTotalMemory(false) / 1e6:F1} MB, gen2 {Gc():F1} ms, again {Gc():F1} ms, heap after {GC.GetTotalMemory(false)/1e6:F1} MB");
context.ClearCache(ClearCacheMode.Everything);
Console.WriteLine($"after ClearCache: gen2 {Gc():F1} ms, heap {GC.GetTotalMemory(false) / 1e6:F1} MB");
