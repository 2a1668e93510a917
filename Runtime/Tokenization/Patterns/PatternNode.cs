namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>The parsed form of a pattern: a tree the compiler turns into a backtracking program.</summary>
internal abstract record PatternNode
{
    /// <summary>True when the node can match without consuming a code point (a repeated body must not, or the loop would not end).</summary>
    public abstract bool CanMatchEmpty { get; }
}

/// <summary>One code point out of a set (a literal, <c>.</c>, an escape such as <c>\s</c>, or a bracketed class).</summary>
internal sealed record SetNode(CodePointSet Set) : PatternNode
{
    public override bool CanMatchEmpty => false;
}

internal sealed record ConcatNode(IReadOnlyList<PatternNode> Items) : PatternNode
{
    public override bool CanMatchEmpty => Items.All(item => item.CanMatchEmpty);
}

/// <summary>Branches tried left to right; the first that lets the whole pattern match wins (Perl/Oniguruma semantics).</summary>
internal sealed record AlternationNode(IReadOnlyList<PatternNode> Branches) : PatternNode
{
    public override bool CanMatchEmpty => Branches.Any(branch => branch.CanMatchEmpty);
}

/// <summary><c>Body{Min,Max}</c>; Max = -1 means unbounded. Greedy tries one more repetition before fewer.</summary>
internal sealed record RepeatNode(PatternNode Body, int Min, int Max, bool Greedy) : PatternNode
{
    public override bool CanMatchEmpty => Min == 0 || Body.CanMatchEmpty;
}

/// <summary><c>(?=Body)</c> or <c>(?!Body)</c>: tests what follows without consuming it.</summary>
internal sealed record LookaheadNode(PatternNode Body, bool Negative) : PatternNode
{
    public override bool CanMatchEmpty => true;
}

internal enum AnchorKind
{
    /// <summary><c>\A</c>: the start of the text.</summary>
    TextStart,
    /// <summary><c>\z</c>: the end of the text.</summary>
    TextEnd,
    /// <summary><c>\Z</c>: the end of the text, or before a final newline.</summary>
    TextEndBeforeNewline,
    /// <summary><c>^</c>: Oniguruma's Ruby syntax makes it match at every line start.</summary>
    LineStart,
    /// <summary><c>$</c>: every line end.</summary>
    LineEnd,
}

internal sealed record AnchorNode(AnchorKind Kind) : PatternNode
{
    public override bool CanMatchEmpty => true;
}
