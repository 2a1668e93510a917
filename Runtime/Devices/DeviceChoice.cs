namespace KernelSharp.Runtime.Devices;

/// <summary>
/// The outcome of device selection. <see cref="Device"/> is where the model actually runs; <see cref="Note"/> says
/// why it differs from what was wanted (e.g. a GPU was found but its backend is not implemented yet).
/// </summary>
public sealed record DeviceChoice(ComputeDevice Device, string DeviceName, string? Note)
{
    /// <summary>One line for users: "FastCpu (…)", followed by the note when there is one.</summary>
    public string Describe(string backendDescription) => Note is null ? backendDescription : $"{backendDescription}; {Note}";
}
