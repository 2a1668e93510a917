namespace KernelSharp.Runtime.Model.Backend;

/// <summary>Which of a segment's caches a key write goes to.</summary>
public enum KeyCachePart
{
    /// <summary>The normalized latent c (<see cref="AttentionSegment.Latent"/>).</summary>
    Latent,

    /// <summary>The rotated k_pe (<see cref="AttentionSegment.RopeKeys"/>).</summary>
    RopeKeys,

    /// <summary>The indexer keys (<see cref="AttentionSegment.IndexKeys"/>).</summary>
    IndexKeys,
}
