namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>
/// A compiled pattern matched over Unicode scalar values with leftmost-first backtracking, the semantics of Oniguruma
/// (which Hugging Face <c>tokenizers</c> uses): at each start position the alternatives are tried in order and the first
/// that lets the rest of the pattern match wins; greedy quantifiers try the longest repetition first.
/// </summary>
/// <remarks>
/// The program is a list of instructions for a small backtracking machine (a <c>Split</c> pushes its second choice on a
/// stack and follows the first). Counted repetition is unrolled, look-ahead runs a sub-program at the current position.
/// One step budget per <see cref="FindMatches"/> call, linear in the input, turns catastrophic backtracking (possible
/// only with a hostile pattern) into an error instead of a hang. It is shared by every start position: a budget per
/// start position would let a cheap-but-failing pattern cost O(n) at each of n positions, quadratic in the input.
/// </remarks>
internal sealed class CodePointPattern
{
    private readonly Instruction[] program;

    private CodePointPattern(Instruction[] program)
    {
        this.program = program;
    }

    /// <summary>Parses and compiles <paramref name="pattern"/>; throws <see cref="PatternSyntaxException"/> for what it does not support.</summary>
    public static CodePointPattern Compile(string pattern) => FromNode(PatternParser.Parse(pattern));

    private static CodePointPattern FromNode(PatternNode node)
    {
        var emitter = new Emitter();
        emitter.Emit(node);
        emitter.Add(new Instruction(OpCode.Match));
        return new CodePointPattern([.. emitter.Program]);
    }

    /// <summary>
    /// Appends every non-overlapping match in <paramref name="text"/>, scanning left to right as Oniguruma's iterator does:
    /// after a match the search resumes at its end; an empty match right where the previous match ended is skipped.
    /// </summary>
    public void FindMatches(ReadOnlySpan<int> text, List<(int Start, int End)> matches)
    {
        var stack = new BacktrackStack();
        long budget = BudgetFor(text.Length);
        int searchFrom = 0;
        int previousEnd = -1;
        while (searchFrom <= text.Length)
        {
            int start = searchFrom;
            int end = -1;
            for (; start <= text.Length; start++)
            {
                end = MatchAt(text, start, stack, ref budget);
                if (end >= 0)
                {
                    break;
                }
            }

            if (end < 0)
            {
                return;
            }

            if (end == start && start == previousEnd)
            {
                searchFrom = start + 1;
                continue;
            }

            matches.Add((start, end));
            previousEnd = end;
            searchFrom = end > start ? end : start + 1;
        }
    }

    /// <summary>Steps allowed for one scan: real tokenizers' patterns take a few dozen per character.</summary>
    internal static long BudgetFor(int length) => 1_000_000L + (2_000L * length);

    // The end of the match starting exactly at `start`, or -1. Look-ahead runs on the same stack, above its caller's entries.
    private int MatchAt(ReadOnlySpan<int> text, int start, BacktrackStack stack, ref long budget)
    {
        int baseCount = stack.Count;
        stack.Push(0, start);
        try
        {
            while (stack.Count > baseCount)
            {
                (int pc, int pos) = stack.Pop();
                while (true)
                {
                    if (--budget < 0)
                    {
                        throw new TokenizerException(
                            $"a pre-tokenizer pattern needs more than {BudgetFor(text.Length):N0} matching steps for {text.Length:N0} characters " +
                            "(it backtracks pathologically); check the tokenizer.json's pre_tokenizer patterns");
                    }

                    ref readonly Instruction instruction = ref program[pc];
                    switch (instruction.Op)
                    {
                        case OpCode.Set:
                            if (pos < text.Length && instruction.Set!.Contains(text[pos]))
                            {
                                pos++;
                                pc++;
                                continue;
                            }

                            break;
                        case OpCode.Split:
                            stack.Push(instruction.Second, pos);
                            pc = instruction.First;
                            continue;
                        case OpCode.Jump:
                            pc = instruction.First;
                            continue;
                        case OpCode.Match:
                            return pos;
                        case OpCode.Assert:
                            if (AnchorHolds(instruction.Anchor, text, pos))
                            {
                                pc++;
                                continue;
                            }

                            break;
                        case OpCode.Lookahead:
                            {
                                bool found = instruction.Sub!.MatchAt(text, pos, stack, ref budget) >= 0;
                                if (found != instruction.Negative)
                                {
                                    pc++;
                                    continue;
                                }

                                break;
                            }
                    }

                    break; // this thread failed: resume the most recent choice point
                }
            }

            return -1;
        }
        finally
        {
            stack.Count = baseCount;
        }
    }

    private static bool AnchorHolds(AnchorKind anchor, ReadOnlySpan<int> text, int pos) => anchor switch
    {
        AnchorKind.TextStart => pos == 0,
        AnchorKind.TextEnd => pos == text.Length,
        AnchorKind.TextEndBeforeNewline => pos == text.Length || (pos == text.Length - 1 && text[pos] == '\n'),
        AnchorKind.LineStart => pos == 0 || text[pos - 1] == '\n',
        AnchorKind.LineEnd => pos == text.Length || text[pos] == '\n',
        _ => false,
    };

    private enum OpCode : byte
    {
        /// <summary>Consume one code point that is in <see cref="Instruction.Set"/>.</summary>
        Set,
        /// <summary>Continue at <see cref="Instruction.First"/>; on failure, retry at <see cref="Instruction.Second"/>.</summary>
        Split,
        Jump,
        Match,
        Assert,
        Lookahead,
    }

    private readonly record struct Instruction(
        OpCode Op,
        int First = 0,
        int Second = 0,
        CodePointSet? Set = null,
        AnchorKind Anchor = AnchorKind.TextStart,
        CodePointPattern? Sub = null,
        bool Negative = false);

    /// <summary>Choice points (program counter, position) of the backtracking machine; look-ahead runs on top of its caller's entries.</summary>
    private sealed class BacktrackStack
    {
        private int[] entries = new int[64]; // [2 × capacity]: pc, pos pairs

        public int Count { get; set; }

        public void Push(int pc, int pos)
        {
            if (2 * Count + 2 > entries.Length)
            {
                Array.Resize(ref entries, entries.Length * 2);
            }

            entries[2 * Count] = pc;
            entries[2 * Count + 1] = pos;
            Count++;
        }

        public (int Pc, int Pos) Pop()
        {
            Count--;
            return (entries[2 * Count], entries[2 * Count + 1]);
        }
    }

    /// <summary>Turns a <see cref="PatternNode"/> tree into instructions.</summary>
    private sealed class Emitter
    {
        public List<Instruction> Program { get; } = new();

        public int Add(Instruction instruction)
        {
            Program.Add(instruction);
            return Program.Count - 1;
        }

        public void Emit(PatternNode node)
        {
            switch (node)
            {
                case SetNode set:
                    Add(new Instruction(OpCode.Set, Set: set.Set));
                    break;
                case ConcatNode concat:
                    foreach (PatternNode item in concat.Items)
                    {
                        Emit(item);
                    }

                    break;
                case AlternationNode alternation:
                    EmitAlternation(alternation);
                    break;
                case RepeatNode repeat:
                    EmitRepeat(repeat);
                    break;
                case LookaheadNode lookahead:
                    Add(new Instruction(OpCode.Lookahead, Sub: FromNode(lookahead.Body), Negative: lookahead.Negative));
                    break;
                case AnchorNode anchor:
                    Add(new Instruction(OpCode.Assert, Anchor: anchor.Kind));
                    break;
                default:
                    throw new InvalidOperationException("unknown pattern node " + node.GetType().Name);
            }
        }

        private void EmitAlternation(AlternationNode alternation)
        {
            var jumpsToEnd = new List<int>();
            for (int i = 0; i < alternation.Branches.Count - 1; i++)
            {
                int split = Add(new Instruction(OpCode.Split));
                Emit(alternation.Branches[i]);
                jumpsToEnd.Add(Add(new Instruction(OpCode.Jump)));
                Program[split] = new Instruction(OpCode.Split, First: split + 1, Second: Program.Count);
            }

            Emit(alternation.Branches[^1]);
            foreach (int jump in jumpsToEnd)
            {
                Program[jump] = new Instruction(OpCode.Jump, First: Program.Count);
            }
        }

        private void EmitRepeat(RepeatNode repeat)
        {
            for (int i = 0; i < repeat.Min; i++)
            {
                Emit(repeat.Body);
            }

            if (repeat.Max < 0)
            {
                int loop = Add(new Instruction(OpCode.Split));
                Emit(repeat.Body);
                Add(new Instruction(OpCode.Jump, First: loop));
                Program[loop] = Choice(repeat.Greedy, take: loop + 1, skip: Program.Count);
                return;
            }

            // Body{0,k} unrolled as (Body(Body(...)?)?)?: once one optional copy is skipped, the rest are skipped too.
            var splits = new List<int>();
            for (int i = repeat.Min; i < repeat.Max; i++)
            {
                splits.Add(Add(new Instruction(OpCode.Split)));
                Emit(repeat.Body);
            }

            foreach (int split in splits)
            {
                Program[split] = Choice(repeat.Greedy, take: split + 1, skip: Program.Count);
            }
        }

        private static Instruction Choice(bool greedy, int take, int skip) =>
            greedy ? new Instruction(OpCode.Split, First: take, Second: skip) : new Instruction(OpCode.Split, First: skip, Second: take);
    }
}
