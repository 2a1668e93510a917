using System.Linq;
using KernelSharp.Generators.Diagnostics;
using Microsoft.CodeAnalysis;

namespace KernelSharp.Generators.Models;

/// <summary>A diagnostic as data: descriptor id, where, and the message arguments already formatted as strings.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
        new(descriptor.Id, location, arguments.ToEquatableArray());

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(DiagnosticDescriptors.ById(Id), Location?.ToLocation(), Arguments.Cast<object>().ToArray());
}
