using System.Reflection;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Reflection help for format-generic kernels (<c>Gemv&lt;TWeights&gt;(TWeights weight, ...)</c>): their generated
/// variants and CPU paths are generic too, and the type argument is the type of the argument passed for the
/// parameter typed by it (a <c>Bf16Rows</c> value makes <c>Gemv&lt;Bf16Rows&gt;</c>).
/// </summary>
internal static class GenericKernels
{
    /// <summary><paramref name="method"/> itself, or, when generic, instantiated from <paramref name="arguments"/>.</summary>
    public static MethodInfo Instantiate(MethodInfo method, IReadOnlyList<object> arguments)
    {
        if (!method.IsGenericMethodDefinition)
            return method;
        var parameters = method.GetParameters();
        var typeArguments = method.GetGenericArguments().Select(typeParameter =>
        {
            int index = Array.FindIndex(parameters, p => p.ParameterType == typeParameter);
            if (index < 0 || index >= arguments.Count)
                throw new InvalidOperationException($"{method.Name}: no argument gives {typeParameter.Name}");
            return arguments[index].GetType();
        }).ToArray();
        return method.MakeGenericMethod(typeArguments);
    }

    /// <summary>
    /// <paramref name="method"/> itself, or, when generic, one instance per public struct of the kernel library that
    /// satisfies its constraints (every storage format a format-generic kernel can be compiled for).
    /// </summary>
    public static IEnumerable<MethodInfo> Instances(MethodInfo method)
    {
        if (!method.IsGenericMethodDefinition)
        {
            yield return method;
            yield break;
        }
        foreach (var format in typeof(KernelSharp.Kernels.Formats.IRowFormat<>).Assembly.GetTypes()
            .Where(t => t.IsValueType && t.IsPublic && !t.IsGenericTypeDefinition).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            MethodInfo? instance = null;
            try
            {
                instance = method.MakeGenericMethod(format);
            }
            catch (ArgumentException)
            {
                // The type does not satisfy the constraints.
            }
            if (instance is not null)
                yield return instance;
        }
    }

    /// <summary>"Class.Method", with the type arguments of a generic instance ("MlaKernels.SparseMlaAttention&lt;F32Rows&gt;").</summary>
    public static string Name(MethodInfo method) =>
        $"{method.DeclaringType!.Name}.{method.Name}" + (method.IsGenericMethod ? $"<{string.Join(",", method.GetGenericArguments().Select(t => t.Name))}>" : "");
}
