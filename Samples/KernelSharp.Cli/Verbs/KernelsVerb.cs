using System.Reflection;
using System.Text.Json;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Verbs;

/// <summary>
/// <c>kernelsharp kernels</c>: every kernel of the library with its generated variants, and the autotuner's saved choices.
/// Kernels are found by reflection over the generated <c>…Variants</c> lists, so a new kernel appears without touching this file.
/// </summary>
public sealed class KernelsVerb : IVerb
{
    public const string KernelsAssemblyName = "KernelSharp.Kernels";

    public VerbSpec Spec { get; } = new(
        "kernels",
        "List every kernel, its generated variants and the autotuner's cached choices.",
        "[--filter TEXT] [options]",
        "The autotuner's cache is KERNELSHARP_AUTOTUNE_FILE when set, else LocalApplicationData/kernelsharp/autotune.json.",
        [
            OptionSpec.Value("filter", "TEXT", "only kernels whose name contains TEXT (case-insensitive)"),
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        string filter = args.String("filter") ?? string.Empty;
        var kernels = FindKernels()
            .Where(k => k.Name.Contains(filter, StringComparison.OrdinalIgnoreCase) || ReadableName(k.Name).Contains(filter, StringComparison.OrdinalIgnoreCase))
            .ToList();
        context.Out.WriteLine($"{kernels.Count} kernels, {kernels.Sum(k => k.Variants.Count)} variants");
        foreach (var kernel in kernels)
        {
            context.Out.WriteLine();
            string variantWord = kernel.Variants.Count == 1 ? "variant" : "variants";
            context.Out.WriteLine($"{kernel.Name}: {ReadableName(kernel.Name)} ({kernel.Variants.Count} {variantWord}; grid {kernel.Grid}, group size {kernel.GroupSize})");
            foreach (KernelVariantInfo variant in kernel.Variants)
            {
                context.Out.WriteLine("  " + Describe(variant));
            }
        }

        context.Out.WriteLine();
        string cachePath = AutotuneStore.DefaultPath();
        IReadOnlyList<KeyValuePair<string, string>> choices = ReadAutotuneChoices(cachePath, out string? problem);
        context.Out.WriteLine(problem is not null
            ? $"autotuner cache {cachePath}: unusable ({problem}); the autotuner moves it aside (to {Path.GetFileName(cachePath)}.corrupt) and starts a new one when next used"
            : $"autotuner cache {cachePath}: {(choices.Count == 0 ? "no choices saved" : $"{choices.Count} choices")}");
        foreach ((string key, string variant) in choices.Where(c => c.Key.Contains(filter, StringComparison.OrdinalIgnoreCase)))
        {
            context.Out.WriteLine($"  {key} -> {variant}");
        }
        return ExitCodes.Success;
    }

    /// <summary>
    /// The kernel's method name as lower-case words ("SparseMlaAttentionBf16Cache" → "sparse mla attention bf16 cache"),
    /// so the listing can be searched with the words of the model ("sparse mla", "grouped ffn").
    /// </summary>
    public static string ReadableName(string kernelName)
    {
        string method = kernelName[(kernelName.LastIndexOf('.') + 1)..];
        var words = new System.Text.StringBuilder();
        for (int i = 0; i < method.Length; i++)
        {
            char c = method[i];
            bool boundary = i > 0 && char.IsUpper(c) && (char.IsLower(method[i - 1]) || char.IsDigit(method[i - 1])
                || (i + 1 < method.Length && char.IsLower(method[i + 1]) && char.IsUpper(method[i - 1])));
            if (boundary)
                words.Append(' ');
            words.Append(char.ToLowerInvariant(c));
        }
        return words.ToString();
    }

    /// <summary>A kernel as "Class.Kernel", its launch geometry expressions (from [Kernel]) and its generated variants.</summary>
    public sealed record KernelListing(string Name, string Grid, string GroupSize, IReadOnlyList<KernelVariantInfo> Variants);

    /// <summary>Every kernel whose class has a generated <c>NameVariants</c> property, sorted by name.</summary>
    public static IReadOnlyList<KernelListing> FindKernels()
    {
        Assembly kernels = Assembly.Load(KernelsAssemblyName);
        var found = new List<KernelListing>();
        foreach (Type type in kernels.GetExportedTypes())
        {
            foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Static))
            {
                if (property.Name.EndsWith("Variants", StringComparison.Ordinal)
                    && typeof(IReadOnlyList<KernelVariantInfo>).IsAssignableFrom(property.PropertyType)
                    && property.GetValue(null) is IReadOnlyList<KernelVariantInfo> variants)
                {
                    string kernelName = property.Name[..^"Variants".Length];
                    KernelAttribute? geometry = type.GetMethods(BindingFlags.Public | BindingFlags.Static)
                        .Where(m => m.Name == kernelName)
                        .Select(m => m.GetCustomAttribute<KernelAttribute>())
                        .FirstOrDefault(a => a is not null);
                    string grid = geometry is null ? "?" : geometry.GridY == "1" ? geometry.Grid : $"{geometry.Grid} x {geometry.GridY}";
                    found.Add(new KernelListing($"{type.Name}.{kernelName}", grid, geometry?.GroupSize ?? "?", variants));
                }
            }
        }
        return found.OrderBy(k => k.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The variant's method and folded values, plus any further facts the generator records (group size, shared memory…).</summary>
    private static string Describe(KernelVariantInfo variant)
    {
        var parts = new List<string>
        {
            variant.Method,
            variant.Constants.Count == 0 ? "no constants" : "constants " + string.Join(", ", variant.Constants),
            variant.IsGeneric ? "generic shape" : "shapes " + string.Join(", ", variant.Shapes),
        };
        string[] shown = [nameof(KernelVariantInfo.Kernel), nameof(KernelVariantInfo.Method), nameof(KernelVariantInfo.Constants),
            nameof(KernelVariantInfo.Shapes), nameof(KernelVariantInfo.IsGeneric)];
        foreach (PropertyInfo extra in typeof(KernelVariantInfo).GetProperties().Where(p => !shown.Contains(p.Name)))
        {
            parts.Add($"{extra.Name} {extra.GetValue(variant)}");
        }
        return string.Join("; ", parts);
    }

    /// <summary>The saved choices; <paramref name="problem"/> says why there are none when the file is there but unusable.</summary>
    private static IReadOnlyList<KeyValuePair<string, string>> ReadAutotuneChoices(string path, out string? problem)
    {
        problem = null;
        if (!File.Exists(path))
        {
            return [];
        }
        try
        {
            var entries = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path));
            problem = entries is null ? "it holds null, not a JSON object of kernel choices" : null;
            return (entries ?? []).OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        }
        catch (JsonException e)
        {
            problem = "not a JSON object of kernel choices: " + JsonErrorText.Reason(e);
            return [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = "cannot be read: " + e.Message;
            return [];
        }
    }
}
