namespace KernelSharp.Runtime.Model.Cpu;

/// <summary>
/// How many host threads the CPU backend's parallel loops use (llama.cpp's <c>-t</c>). Process-wide on purpose: the
/// loops are static helpers shared by every CPU model, and one process runs one command.
/// </summary>
public static class CpuThreads
{
    private static int limit = Environment.ProcessorCount;

    /// <summary>1 … any; the default is every core. Set it before running a model.</summary>
    public static int Limit
    {
        get => limit;
        set => limit = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least one thread");
    }
}
