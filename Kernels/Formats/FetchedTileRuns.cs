namespace KernelSharp.Kernels.Formats;

/// <summary>
/// What <see cref="ITensorCoreRows{TSelf}.FetchTileStage"/> leaves in one thread's registers for
/// <see cref="ITensorCoreRows{TSelf}.LandTileStage"/>: up to two 16-byte runs of stored values (low and high four words)
/// and the block scale of each, loaded with them so that no load waits at landing time. Empty for bf16, whose
/// copies land by themselves.
/// </summary>
public struct FetchedTileRuns
{
    public Words8 Runs;
    public float LowScale;
    public float HighScale;
}
