namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// Ranks that are threads of one process (the CPU backend, and multi-rank tests without several GPUs): each
/// collective is a barrier, every rank publishes its buffer, then every rank reads all of them in rank order, so sums
/// are identical on every rank and reproducible run to run. A rank that fails breaks the group's barrier, so the other
/// ranks stop with an error instead of waiting forever.
/// </summary>
public sealed class InProcessCommunicator : ICommunicator
{
    private readonly Group group;

    private InProcessCommunicator(Group group, int rank)
    {
        this.group = group;
        Rank = rank;
    }

    public int Rank { get; }

    public int Size => group.Size;

    /// <summary>One communicator per rank of a new group of <paramref name="size"/> ranks; give each to its own thread.</summary>
    public static IReadOnlyList<InProcessCommunicator> CreateGroup(int size)
    {
        if (size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"a group needs at least one rank (got {size})");
        }

        var group = new Group(size);
        return Enumerable.Range(0, size).Select(rank => new InProcessCommunicator(group, rank)).ToArray();
    }

    public void AllReduceSum(Span<float> values)
    {
        var published = Publish(values.ToArray());
        values.Clear();
        foreach (var contribution in published)
        {
            RequireLength(contribution.Length, values.Length, "AllReduceSum");
            System.Numerics.Tensors.TensorPrimitives.Add(values, contribution, values);
        }

        group.Wait(); // nobody publishes the next collective's buffer before every rank has read this one's
    }

    public void AllGather(ReadOnlySpan<float> mine, Span<float> gathered)
    {
        if (gathered.Length != mine.Length * Size)
        {
            throw new ArgumentException($"AllGather: the gathered buffer holds {gathered.Length} values, expected {Size} × {mine.Length}");
        }

        var published = Publish(mine.ToArray());
        for (var rank = 0; rank < Size; rank++)
        {
            RequireLength(published[rank].Length, mine.Length, "AllGather");
            published[rank].CopyTo(gathered.Slice(rank * mine.Length, mine.Length));
        }

        group.Wait();
    }

    /// <summary>Puts this rank's buffer in its slot and returns every rank's, once all have published.</summary>
    private float[][] Publish(float[] contribution)
    {
        group.Slots[Rank] = contribution;
        group.Wait();
        return group.Slots;
    }

    private void RequireLength(int theirs, int mine, string collective)
    {
        if (theirs != mine)
        {
            throw new InvalidOperationException($"{collective}: ranks passed buffers of different lengths ({theirs} and {mine} values on rank {Rank})");
        }
    }

    /// <summary>Breaks the group's barrier so that ranks waiting in a collective fail instead of hanging.</summary>
    public void Abort() => group.Abort();

    private sealed class Group(int size)
    {
        private readonly Barrier barrier = new(size);
        private volatile bool aborted;

        public int Size { get; } = size;

        public float[][] Slots { get; } = new float[size][];

        public void Wait()
        {
            if (aborted)
            {
                throw new GroupAbortedException();
            }

            // A bounded wait per step keeps an aborted group from hanging: a rank that died never arrives.
            while (!barrier.SignalAndWait(TimeSpan.FromMilliseconds(200)))
            {
                if (aborted)
                {
                    throw new GroupAbortedException();
                }
            }
        }

        public void Abort() => aborted = true;
    }
}

/// <summary>A collective could not complete because another rank of the group failed.</summary>
public sealed class GroupAbortedException() : InvalidOperationException("another rank of the group failed; this collective cannot complete");
