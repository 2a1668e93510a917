namespace KernelSharp.Runtime.Devices;

/// <summary>The outcome of device selection: where the model runs (<see cref="Device"/>) and on which device by name.</summary>
public sealed record DeviceChoice(ComputeDevice Device, string DeviceName);
