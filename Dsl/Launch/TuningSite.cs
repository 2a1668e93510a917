namespace KernelSharp.Dsl.Launch;

/// <summary>
/// One place where a generated launcher asks the autotuner for a choice: a kernel (per type argument of a
/// format-generic one) on one path (GPU or the fast CPU path). The launcher makes it once, in a static field, so a warm
/// launch finds its choice by this object's identity and a <see cref="TuningShape"/> (<see cref="KernelAutotuner.TryRecall"/>)
/// instead of building the kernel's name and shape key as strings and allocating the closures that a first launch
/// needs to time the candidates.
/// </summary>
public sealed class TuningSite
{
    public TuningSite(string kernel)
    {
        ArgumentException.ThrowIfNullOrEmpty(kernel);
        Kernel = kernel;
    }

    /// <summary>The name the autotuner keys its choices by (<see cref="KernelAutotuner.Choose"/>'s kernel).</summary>
    public string Kernel { get; }

    public override string ToString() => Kernel;
}

/// <summary>The values of a kernel's tuning [Shape] parameters (up to four; unused ones 0), a key without strings.</summary>
public readonly record struct TuningShape(int First, int Second = 0, int Third = 0, int Fourth = 0);
