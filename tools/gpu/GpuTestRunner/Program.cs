using System.Diagnostics;
using System.Reflection;
using Xunit;

// A minimal xunit v2 runner by reflection: [Fact], [SkippableFact], [Theory] with [InlineData] / [MemberData],
// IClassFixture<T> constructor fixtures and IDisposable test classes. Enough for this repository's test projects.
// usage: GpuTestRunner [--filter REGEX] assembly-name...   (assembly names without .dll, e.g. KernelSharp.Kernels.Tests)
// The filter is matched against "Namespace.Class.Method(arguments)", case-insensitively.

if (args.Length >= 2 && args[0] == "ptx")
{
    return PtxDump.Run(args[1]);
}

var filter = "";
var assemblies = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--filter" && i + 1 < args.Length) { filter = args[++i]; }
    else { assemblies.Add(args[i]); }
}
if (assemblies.Count == 0)
{
    assemblies.AddRange(["KernelSharp.Kernels.Tests", "KernelSharp.Dsl.Tests"]);
}

int passed = 0, failed = 0, skipped = 0;
var failures = new List<string>();
var fixtures = new Dictionary<Type, object>();
var total = Stopwatch.StartNew();
foreach (var name in assemblies)
{
    var assembly = Assembly.Load(name);
    foreach (var type in LoadableTypes(assembly).Where(t => t.IsClass && !t.IsAbstract && t.IsPublic).OrderBy(t => t.FullName))
    {
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance).OrderBy(m => m.Name))
        {
            var fact = method.GetCustomAttribute<FactAttribute>(inherit: true);
            if (fact is null) { continue; }
            string id = $"{type.FullName}.{method.Name}";
            if (fact.Skip is not null) { skipped++; Console.WriteLine($"SKIP {id}: {fact.Skip}"); continue; }
            foreach (var arguments in ArgumentSets(method))
            {
                string caseId = arguments.Length == 0 ? id : $"{id}({string.Join(", ", arguments)})";
                if (filter.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(caseId, filter, System.Text.RegularExpressions.RegexOptions.IgnoreCase)) { continue; }
                var watch = Stopwatch.StartNew();
                try
                {
                    object instance = Create(type, fixtures);
                    try
                    {
                        var result = method.Invoke(instance, arguments);
                        if (result is Task task) { task.GetAwaiter().GetResult(); }
                    }
                    finally
                    {
                        (instance as IDisposable)?.Dispose();
                    }
                    passed++;
                    Console.WriteLine($"PASS {caseId} ({watch.ElapsedMilliseconds} ms)");
                }
                catch (Exception ex)
                {
                    var inner = ex is TargetInvocationException { InnerException: { } e } ? e : ex;
                    if (inner.GetType().Name == "SkipException")
                    {
                        skipped++;
                        Console.WriteLine($"SKIP {caseId}: {inner.Message}");
                    }
                    else
                    {
                        failed++;
                        failures.Add($"{caseId}: {inner.GetType().Name}: {inner.Message}");
                        Console.WriteLine($"FAIL {caseId}: {inner}");
                    }
                }
            }
        }
    }
}
foreach (var fixture in fixtures.Values) { (fixture as IDisposable)?.Dispose(); }
Console.WriteLine();
foreach (var f in failures) { Console.WriteLine($"FAILED: {f}"); }
Console.WriteLine($"passed {passed}, failed {failed}, skipped {skipped} in {total.Elapsed.TotalSeconds:F1} s");
return failed == 0 ? 0 : 1;

static object Create(Type type, Dictionary<Type, object> fixtures)
{
    var constructor = type.GetConstructors().OrderBy(c => c.GetParameters().Length).First();
    var parameters = constructor.GetParameters().Select(p =>
    {
        if (p.ParameterType == typeof(Xunit.Abstractions.ITestOutputHelper))
            return new ConsoleOutput();
        if (!fixtures.TryGetValue(p.ParameterType, out var fixture))
        {
            fixture = Activator.CreateInstance(p.ParameterType)!;
            fixtures[p.ParameterType] = fixture;
        }
        return fixture;
    }).ToArray();
    return constructor.Invoke(parameters);
}

static IEnumerable<object?[]> ArgumentSets(MethodInfo method)
{
    if (method.GetCustomAttribute<TheoryAttribute>(inherit: true) is null)
    {
        yield return [];
        yield break;
    }
    foreach (var inline in method.GetCustomAttributes<InlineDataAttribute>())
    {
        foreach (var row in inline.GetData(method)) { yield return Convert(method, row); }
    }
    foreach (var member in method.GetCustomAttributes<MemberDataAttribute>())
    {
        var owner = member.MemberType ?? method.DeclaringType!;
        var flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.FlattenHierarchy;
        object? data = owner.GetProperty(member.MemberName, flags)?.GetValue(null)
            ?? owner.GetMethod(member.MemberName, flags)?.Invoke(null, member.Parameters)
            ?? owner.GetField(member.MemberName, flags)?.GetValue(null);
        if (data is System.Collections.IEnumerable rows)
        {
            foreach (var row in rows)
            {
                object?[] values = row switch
                {
                    object?[] array => array,
                    _ => [row],
                };
                yield return Convert(method, values);
            }
        }
    }
}

// A bundle trimmed of the Roslyn assemblies cannot load the generator tests' types that use them; the others still run.
static IEnumerable<Type> LoadableTypes(Assembly assembly)
{
    try
    {
        return assembly.GetTypes();
    }
    catch (ReflectionTypeLoadException e)
    {
        Console.WriteLine($"NOTE {assembly.GetName().Name}: {e.Types.Count(t => t is null)} types need assemblies missing from this bundle ({e.LoaderExceptions.FirstOrDefault()?.Message.Split('\n')[0]}); their tests do not run");
        return e.Types.Where(t => t is not null)!;
    }
}

static object?[] Convert(MethodInfo method, object?[]? row)
{
    row ??= [null]; // [InlineData(null)] hands its params array over as null: one null argument
    var parameters = method.GetParameters();
    var result = new object?[parameters.Length];
    for (int i = 0; i < parameters.Length; i++)
    {
        object? value = i < row.Length ? row[i] : parameters[i].DefaultValue;
        var target = Nullable.GetUnderlyingType(parameters[i].ParameterType) ?? parameters[i].ParameterType;
        if (value is not null && !target.IsInstanceOfType(value) && value is IConvertible)
        {
            value = target.IsEnum ? Enum.ToObject(target, value) : System.Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture);
        }
        result[i] = value;
    }
    return result;
}

/// <summary>ITestOutputHelper for tests that log: lines go to the console, indented under the test.</summary>
internal sealed class ConsoleOutput : Xunit.Abstractions.ITestOutputHelper
{
    public void WriteLine(string message) => Console.WriteLine("    " + message);

    public void WriteLine(string format, params object[] args) => Console.WriteLine("    " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
}
