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
    /// <paramref name="method"/> itself, or, when generic, one instance per combination of public structs of the kernel
    /// library that satisfies its constraints (every storage format, and every key source, a generic kernel can be
    /// compiled for).
    /// </summary>
    public static IEnumerable<MethodInfo> Instances(MethodInfo method)
    {
        if (!method.IsGenericMethodDefinition)
            return [method];
        var structs = typeof(KernelSharp.Kernels.Formats.IRowFormat<>).Assembly.GetTypes()
            .Where(t => t.IsValueType && t.IsPublic && !t.IsGenericTypeDefinition).OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        // Each type parameter's candidates on their own (its constraints mention only itself), then every combination.
        var candidates = method.GetGenericArguments().Select(parameter => structs.Where(t => Satisfies(parameter, t)).ToArray()).ToArray();
        IEnumerable<Type[]> combinations = [[]];
        foreach (var choices in candidates)
            combinations = combinations.SelectMany(prefix => choices.Select(choice => prefix.Append(choice).ToArray()));
        return combinations.Select(method.MakeGenericMethod).ToArray();
    }

    /// <summary>Whether <paramref name="type"/> meets the constraints of <paramref name="parameter"/> (a struct, and
    /// each constraint interface with the parameter replaced by the type itself, as in <c>IRowFormat&lt;TSelf&gt;</c>).</summary>
    private static bool Satisfies(Type parameter, Type type) =>
        parameter.GetGenericParameterConstraints().Where(c => c != typeof(ValueType)).All(constraint =>
        {
            if (!constraint.IsGenericType || !constraint.ContainsGenericParameters)
                return constraint.IsAssignableFrom(type);
            try
            {
                var arguments = constraint.GetGenericArguments().Select(a => a == parameter ? type : a).ToArray();
                return constraint.GetGenericTypeDefinition().MakeGenericType(arguments).IsAssignableFrom(type);
            }
            catch (ArgumentException)
            {
                // The interface's own constraint rejects the type (IRowFormat<TSelf> where TSelf : IRowFormat<TSelf>).
                return false;
            }
        });

    /// <summary>"Class.Method", with the type arguments of a generic instance ("MlaKernels.SparseMlaAttention&lt;F32Rows&gt;").</summary>
    public static string Name(MethodInfo method) =>
        $"{method.DeclaringType!.Name}.{method.Name}" + (method.IsGenericMethod ? $"<{string.Join(",", method.GetGenericArguments().Select(t => t.Name))}>" : "");
}
