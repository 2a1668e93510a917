using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelSharp.Generators.Models;
using KernelSharp.Generators.Specialization;

namespace KernelSharp.Generators.Emitting;

/// <summary>
/// Writes the typed launcher of a kernel: <c>NameVariants</c>, <c>LaunchName(KernelDevice, ...)</c> and the
/// per-candidate dispatch. A candidate is one [Constant] combination; within it the run-time shape picks the variant
/// folding the matching shapes, else the generic one. The autotuner picks the candidate per (device, kernel, shape).
/// </summary>
internal static class LauncherEmitter
{
    private const string Launch = "global::KernelSharp.Dsl.Launch";

    public static void Emit(KernelModel kernel, VariantPlan plan, bool hasCpuPath, CodeWriter writer)
    {
        var runtimeParameters = kernel.Parameters.Where(p => p.Kind != ParameterKind.Constant).ToList();
        var shapes = kernel.Parameters.Where(p => p.Kind == ParameterKind.Shape).ToList();
        var tuningShapes = shapes.Where(s => !s.SharesTuning).ToList(); // the autotuner's key
        string signature = string.Join("", runtimeParameters.Select(p => ", " + p.TypeText + " " + p.Name));
        string arguments = string.Join("", runtimeParameters.Select(p => ", " + p.Name));
        string name = kernel.Name;
        string generic = kernel.TypeParameterList;
        string where = kernel.ConstraintClauses;
        string typeKey = kernel.TypeParameters.Count == 0 ? "" : " + " + kernel.TypeArgumentKey;

        EmitVariantList(kernel, plan, writer);
        writer.Line();
        writer.Line($"private static readonly string[] ks_{name}Candidates = {{ {string.Join(", ", plan.Combinations.Select(c => Quote(c.Name.Length == 0 ? "default" : c.Name)))} }};");
        writer.Line();

        writer.Line($"/// <summary>");
        writer.Line($"/// Launches <see cref=\"{name}\"/> on <paramref name=\"device\"/>. The [Constant] values are chosen by the autotuner");
        writer.Line($"/// (first use per device and shape), the variant by the run-time shape. On FastCpu it runs {(hasCpuPath ? $"<see cref=\"{name}Cpu\"/>" : "on the ILGPU CPU accelerator (no CPU path: see diagnostic KS0009)")}.");
        writer.Line($"/// GPU launches are asynchronous: call <c>device.Synchronize()</c> before reading results on the host.");
        writer.Line($"/// </summary>");
        // Warm launches find the autotuner's choice by a static site object and the shape's ints (no strings, no
        // closures); the closures a first launch needs to time candidates live in ks_Tune methods of their own, since
        // C# allocates a method's captured parameters on entry, whichever branch then runs.
        bool tuned = plan.Combinations.Count > 1;
        bool recalled = tuned && tuningShapes.Count <= 4;
        string tuningShape = $"new {Launch}.TuningShape({(tuningShapes.Count == 0 ? "0" : string.Join(", ", tuningShapes.Select(s => s.Name)))})";
        string keys = $"ks_{name}Keys{generic}";
        using (writer.Block($"public static void Launch{name}{generic}({Launch}.KernelDevice device{signature}){where}"))
        {
            writer.Line("global::System.ArgumentNullException.ThrowIfNull(device);");
            if (hasCpuPath)
            {
                using (writer.Block($"if (device.Backend == {Launch}.KernelBackend.FastCpu)"))
                {
                    writer.Line("// Host threads read the buffers directly: earlier work queued on the CPU accelerator must be done.");
                    writer.Line("device.Synchronize();");
                    writer.Line($"device.ChargeHostLaunch(\"{kernel.FullName}\");");
                    if (!tuned)
                    {
                        writer.Line($"ks_Run{name}Cpu{generic}(0{arguments}); // one candidate: nothing to tune");
                    }
                    else
                    {
                        writer.Line("int ks_cpuChoice;");
                        if (recalled)
                            writer.Line($"if (!{Launch}.KernelAutotuner.TryRecall(device, {keys}.Cpu, {tuningShape}, out ks_cpuChoice))");
                        writer.Line($"{(recalled ? "    " : "")}ks_cpuChoice = ks_Tune{name}Cpu{generic}(device{arguments});");
                        writer.Line($"ks_Run{name}Cpu{generic}(ks_cpuChoice{arguments});");
                    }
                    writer.Line("return;");
                }
            }
            if (!tuned)
            {
                writer.Line($"ks_Launch{name}Candidate{generic}(device, 0{arguments}); // one candidate: nothing to tune");
            }
            else
            {
                writer.Line("// The CPU accelerator is a debugging emulator: timing variants there would only measure the emulator.");
                writer.Line("int ks_choice = 0;");
                string recall = recalled ? $" && !{Launch}.KernelAutotuner.TryRecall(device, {keys}.Gpu, {tuningShape}, out ks_choice)" : "";
                writer.Line($"if (device.Accelerator.AcceleratorType != global::ILGPU.Runtime.AcceleratorType.CPU{recall})");
                writer.Line($"    ks_choice = ks_Tune{name}{generic}(device{arguments});");
                writer.Line($"ks_Launch{name}Candidate{generic}(device, ks_choice{arguments});");
            }
        }

        if (tuned)
        {
            string shapeKey = tuningShapes.Count == 0 ? "\"any\"" : string.Join(" + \",\" + ", tuningShapes.Select(s => $"\"{s.Name}=\" + {s.Name}.ToString(global::System.Globalization.CultureInfo.InvariantCulture)"));
            string snapshot = Snapshot(kernel);
            foreach (bool cpu in hasCpuPath ? new[] { true, false } : new[] { false })
            {
                string suffix = cpu ? "Cpu" : "";
                string site = recalled ? $"{keys}.{(cpu ? "Cpu" : "Gpu")}, {tuningShape}" : $"\"{kernel.FullName}{(cpu ? "/cpu" : "")}\"{typeKey}";
                string run = cpu ? $"ks_Run{name}Cpu{generic}(ks_candidate{arguments})" : $"ks_Launch{name}Candidate{generic}(device, ks_candidate{arguments})";
                writer.Line();
                writer.Line($"/// <summary>A first launch of this shape{(cpu ? " on the fast CPU path" : "")}: the autotuner times the candidates.</summary>");
                using (writer.Block($"private static int ks_Tune{name}{suffix}{generic}({Launch}.KernelDevice device{signature}){where}"))
                {
                    writer.Line($"string ks_shapeKey = {shapeKey};");
                    writer.Line($"return {Launch}.KernelAutotuner.Choose(device, {site}, ks_shapeKey, ks_{name}Candidates,");
                    writer.Line($"    ks_candidate => {run}, {snapshot});");
                }
            }
        }

        if (recalled || kernel.TypeParameters.Count > 0)
        {
            writer.Line();
            writer.Line($"/// <summary>Made once per {(kernel.TypeParameters.Count > 0 ? "type argument" : "kernel")}: the autotuner's sites{(kernel.TypeParameters.Count > 0 ? " and the compiled variants' cache keys" : "")}.</summary>");
            using (writer.Block($"private static class {keys}{where}"))
            {
                if (recalled)
                {
                    writer.Line($"public static readonly {Launch}.TuningSite Gpu = new(\"{kernel.FullName}\"{typeKey});");
                    if (hasCpuPath)
                        writer.Line($"public static readonly {Launch}.TuningSite Cpu = new(\"{kernel.FullName}/cpu\"{typeKey});");
                }
                if (kernel.TypeParameters.Count > 0)
                {
                    foreach (var variant in plan.Variants)
                        writer.Line($"public static readonly string {variant.MethodName} = {CacheKey(kernel, variant)};");
                }
            }
        }

        if (hasCpuPath)
        {
            writer.Line();
            using (writer.Block($"private static void ks_Run{name}Cpu{generic}(int ks_candidate{signature}){where}"))
            using (writer.Block("switch (ks_candidate)"))
            {
                foreach (var combination in plan.Combinations)
                {
                    var call = kernel.Parameters.Select(p => p.Kind == ParameterKind.Constant
                        ? combination.Constants.First(c => c.Name == p.Name).Value.ToString(CultureInfo.InvariantCulture) + " /* " + p.Name + " */"
                        : p.Name);
                    writer.Line($"case {combination.Index.ToString(CultureInfo.InvariantCulture)}:");
                    writer.Line($"    {name}Cpu{generic}({string.Join(", ", call)});");
                    writer.Line("    return;");
                }
                writer.Line("default:");
                writer.Line("    throw new global::System.ArgumentOutOfRangeException(nameof(ks_candidate));");
            }
        }

        writer.Line();
        using (writer.Block($"private static void ks_Launch{name}Candidate{generic}({Launch}.KernelDevice device, int ks_candidate{signature}){where}"))
        using (writer.Block("switch (ks_candidate)"))
        {
            foreach (var combination in plan.Combinations)
            {
                writer.Line($"case {combination.Index.ToString(CultureInfo.InvariantCulture)}:");
                using (writer.Block(""))
                {
                    foreach (var constant in combination.Constants)
                        writer.Line($"const int {constant.Name} = {constant.Value.ToString(CultureInfo.InvariantCulture)};");
                    // Most specialized first: a variant folding a shape serves only that value, the generic one anything.
                    var variants = plan.Variants.Where(v => v.Combination == combination).OrderByDescending(v => v.Shapes.Count).ToList();
                    foreach (var variant in variants)
                    {
                        if (variant.Shapes.Count == 0)
                        {
                            using (writer.Block(""))
                                EmitLaunch(kernel, variant, writer);
                            continue;
                        }
                        string condition = string.Join(" && ", variant.Shapes.Select(s => $"{s.Name} == {s.Value.ToString(CultureInfo.InvariantCulture)}"));
                        using (writer.Block($"if ({condition})"))
                            EmitLaunch(kernel, variant, writer);
                    }
                    if (!variants.Any(v => v.Shapes.Count == 0))
                    {
                        string listed = string.Join(", ", shapes.Select(s => s.Name + " = \" + " + s.Name + ".ToString(global::System.Globalization.CultureInfo.InvariantCulture) + \""));
                        writer.Line($"throw new global::System.ArgumentException(\"{kernel.Name}: no variant serves {listed}: its shared memory depends on the shape, so only the listed [Shape] values are compiled\");");
                    }
                }
            }
            writer.Line("default:");
            writer.Line("    throw new global::System.ArgumentOutOfRangeException(nameof(ks_candidate));");
        }
    }

    private static void EmitLaunch(KernelModel kernel, KernelVariant variant, CodeWriter writer)
    {
        var parameters = kernel.Parameters.Where(p => p.Kind != ParameterKind.Constant && !variant.Shapes.Any(s => s.Name == p.Name)).ToList();
        string types = string.Join(", ", parameters.Select(p => p.TypeText));
        string args = string.Join("", parameters.Select(p => ", " + p.Name));
        // A format-generic kernel compiles once per type argument: its keys are made once per type (ks_NameKeys).
        string cacheKey = kernel.TypeParameters.Count == 0 ? CacheKey(kernel, variant) : $"ks_{kernel.Name}Keys{kernel.TypeParameterList}.{variant.MethodName}";
        // Loaded with a stream parameter and launched on device.Stream (not bound to the default stream): see KernelDevice.Stream.
        string load = $"global::ILGPU.Runtime.KernelLoaders.LoadKernel<{types}>(ks_accelerator, {variant.MethodName}{kernel.TypeParameterList})";
        string sharedConfig = "";
        if (variant.DynamicShared != null)
        {
            // Over 48 KB: the kernel's limit is raised once, when it is loaded; each launch asks for the bytes.
            string bytes = variant.DynamicShared.Bytes.ToString(CultureInfo.InvariantCulture);
            load = $"{Launch}.LargeSharedMemory.Allow({load}, ks_accelerator, {bytes}, \"{variant.MethodName}\")";
            sharedConfig = $", global::ILGPU.SharedMemoryConfig.RequestDynamic<byte>({bytes})";
        }
        writer.Line($"var ks_kernel = device.GetOrLoadKernel({cacheKey},");
        writer.Line($"    static ks_accelerator => {load});");
        writer.Line($"int ks_gridX = checked((int)({kernel.GridX}));");
        writer.Line($"int ks_gridY = checked((int)({kernel.GridY}));");
        using (writer.Block("if (ks_gridX > 0 && ks_gridY > 0)"))
        {
            writer.Line($"ks_kernel(device.Stream, new global::ILGPU.KernelConfig(new global::ILGPU.Index2D(ks_gridX, ks_gridY), new global::ILGPU.Index2D({variant.GroupSize.ToString(CultureInfo.InvariantCulture)}, 1){sharedConfig}){args});");
        }
        writer.Line("return;");
    }

    /// <summary>The compiled-kernel cache key of a variant: its full name, plus the type arguments of a format-generic kernel.</summary>
    private static string CacheKey(KernelModel kernel, KernelVariant variant)
    {
        string key = kernel.Namespace.Length == 0 ? variant.MethodName : kernel.FullName.Substring(0, kernel.FullName.Length - kernel.Name.Length) + variant.MethodName;
        return kernel.TypeParameters.Count == 0 ? $"\"{key}\"" : $"\"{key}\" + {kernel.TypeArgumentKey}";
    }

    /// <summary>
    /// A factory saving the views a re-run would corrupt: views the kernel reads and writes, and written views that
    /// overlap a read view at run time (an in-place call such as output == input). <c>null</c> when re-running is harmless.
    /// </summary>
    private static string Snapshot(KernelModel kernel)
    {
        var views = kernel.Parameters.Where(p => p.Kind == ParameterKind.View).ToList();
        var calls = new List<string>();
        calls.AddRange(views.Where(v => v.ReadAndWritten).Select(v => $".Add({v.Name})"));
        foreach (var written in views.Where(v => v.Written && !v.Read))
            calls.AddRange(views.Where(r => r.Read && r != written).Select(r => $".AddIfOverlapping({written.Name}, {r.Name})"));
        if (calls.Count == 0)
            return "null";
        return $"() => new {Launch}.ViewSnapshot(device)" + string.Join("", calls);
    }

    private static void EmitVariantList(KernelModel kernel, VariantPlan plan, CodeWriter writer)
    {
        writer.Line($"/// <summary>The generated variants of <see cref=\"{kernel.Name}\"/>, candidates in autotuning order.</summary>");
        writer.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Launch}.KernelVariantInfo> {kernel.Name}Variants {{ get; }} = new {Launch}.KernelVariantInfo[]");
        writer.Line("{");
        foreach (var variant in plan.Variants)
        {
            string dynamicShared = variant.DynamicShared == null ? "" : ", " + variant.DynamicShared.Bytes.ToString(CultureInfo.InvariantCulture);
            writer.Line($"    new(\"{kernel.Name}\", \"{variant.MethodName}\", {Values(variant.Combination.Constants)}, {Values(variant.Shapes)}{dynamicShared}),");
        }
        writer.Line("};");
    }

    private static string Values(EquatableArray<FoldedParameter> values) =>
        values.Count == 0
            ? $"global::System.Array.Empty<{Launch}.FoldedValue>()"
            : $"new {Launch}.FoldedValue[] {{ {string.Join(", ", values.Select(v => $"new(\"{v.Name}\", {v.Value.ToString(CultureInfo.InvariantCulture)})"))} }}";

    private static string Quote(string text) => "\"" + text + "\"";
}
