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
}
