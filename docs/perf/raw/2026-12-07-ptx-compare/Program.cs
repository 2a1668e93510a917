using System.Reflection;

// PtxDump <folder> <name prefix>...: the PTX (sm_80, no GPU) of every generated variant (Name__...) of the Kernels
// assembly whose name starts with one of the prefixes, one file per variant. A generic variant is instantiated with
// every combination of public structs of the assembly that meets its constraints (file Name__...{A,B}.ptx).
Directory.CreateDirectory(args[0]);
var assembly = typeof(KernelSharp.Kernels.Norms.RmsNormKernels).Assembly;
var structs = assembly.GetTypes().Where(t => t.IsValueType && t.IsPublic && !t.IsGenericTypeDefinition && !t.IsEnum).ToArray();
IEnumerable<Type[]> Combinations(int count) => count == 0 ? [[]] : Combinations(count - 1).SelectMany(prefix => structs.Select(t => prefix.Append(t).ToArray()));
foreach (var method in assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
    .Where(m => m.Name.Contains("__", StringComparison.Ordinal) && args.Skip(1).Any(p => m.Name.StartsWith(p, StringComparison.Ordinal))))
{
    var instances = new List<(MethodInfo Method, string Name)>();
    if (!method.IsGenericMethodDefinition)
        instances.Add((method, method.Name));
    else
    {
        foreach (var types in Combinations(method.GetGenericArguments().Length))
        {
            try { instances.Add((method.MakeGenericMethod(types), $"{method.Name}{{{string.Join(',', types.Select(t => t.Name))}}}")); }
            catch (ArgumentException) { }
        }
    }
    foreach (var (instance, name) in instances)
    {
        File.WriteAllText(Path.Combine(args[0], name + ".ptx"), KernelSharp.Dsl.PtxCompiler.Compile(instance));
        Console.WriteLine(name);
    }
}
