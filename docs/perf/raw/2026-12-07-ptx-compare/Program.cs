using System.Reflection;

// PtxDump <folder> <name prefix>...: the PTX (sm_80, no GPU) of every generated variant (Name__...) of the Kernels
// assembly whose name starts with one of the prefixes, one file per variant.
Directory.CreateDirectory(args[0]);
var assembly = typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly;
foreach (var method in assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
    .Where(m => m.Name.Contains("__", StringComparison.Ordinal) && !m.IsGenericMethodDefinition && args.Skip(1).Any(p => m.Name.StartsWith(p, StringComparison.Ordinal))))
{
    File.WriteAllText(Path.Combine(args[0], method.Name + ".ptx"), KernelSharp.Dsl.PtxCompiler.Compile(method));
    Console.WriteLine(method.Name);
}
