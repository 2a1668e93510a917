namespace KernelSharp.Runtime.Generation;

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>MaxNewTokens were generated.</summary>
    Length,

    /// <summary>A stop token (EOS) was sampled.</summary>
    StopToken,

    /// <summary>A stop sequence appeared in the text.</summary>
    StopSequence,

    /// <summary>The KV cache is full.</summary>
    ContextFull,

    /// <summary>The caller cancelled (Ctrl-C).</summary>
    Cancelled,
}
