namespace KernelSharp.Runtime.Tokenization.PreTokenization;

/// <summary>What a split step does with the text its pattern matched ("behavior" in tokenizer.json).</summary>
internal enum SplitDelimiterBehavior
{
    /// <summary>Matches are dropped; only the text between them remains.</summary>
    Removed,
    /// <summary>Each match and each run of text between matches becomes its own piece.</summary>
    Isolated,
    /// <summary>A match is appended to the piece before it.</summary>
    MergedWithPrevious,
    /// <summary>A match is prepended to the piece after it.</summary>
    MergedWithNext,
    /// <summary>Consecutive matches are joined into one piece.</summary>
    Contiguous,
}
