using KernelSharp.Runtime.Model;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// A model split over several ranks inside this process, each rank a <see cref="DeepSeekModel"/> with its own backend
/// and its share of the weights (<see cref="ParallelPlan"/>), joined by an <see cref="InProcessCommunicator"/> group.
/// Each step runs on every rank at once, one thread per rank, because every rank must reach the same collectives.
/// This is how a split is tested without several GPUs, and how the CPU backend runs one.
/// </summary>
public sealed class InProcessRanks : IDisposable
{
    private readonly IReadOnlyList<InProcessCommunicator> communicators;
    private readonly DeepSeekModel[] models;

    private InProcessRanks(IReadOnlyList<InProcessCommunicator> communicators, DeepSeekModel[] models)
    {
        this.communicators = communicators;
        this.models = models;
    }

    /// <summary>The rank models, rank 0 first.</summary>
    public IReadOnlyList<DeepSeekModel> Models => models;

    public int Size => models.Length;

    /// <summary>Loads <paramref name="ranks"/> shares of the checkpoint in <paramref name="directory"/>, each with <paramref name="options"/> and its own plan.</summary>
    public static InProcessRanks Load(string directory, int ranks, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        var communicators = InProcessCommunicator.CreateGroup(ranks);
        var config = options.Config ?? ModelConfig.Load(Path.Combine(directory, "config.json"));
        var models = new DeepSeekModel[ranks];
        try
        {
            for (var rank = 0; rank < ranks; rank++)
            {
                models[rank] = DeepSeekModel.Load(directory, options with
                {
                    Config = config,
                    Parallel = new ParallelPlan(rank, ranks), // Load checks it against the config
                    Communicator = communicators[rank],
                    Progress = rank == 0 ? options.Progress : null,
                });
            }
        }
        catch
        {
            foreach (var model in models)
            {
                model?.Dispose();
            }

            throw;
        }

        return new InProcessRanks(communicators, models);
    }

    /// <summary>
    /// Runs <paramref name="step"/>(model, rank) on every rank at once and returns the results by rank. When one rank
    /// fails, the group is aborted so the others leave their collectives, and that rank's exception is rethrown.
    /// </summary>
    public T[] RunOnAll<T>(Func<DeepSeekModel, int, T> step)
    {
        var results = new T[models.Length];
        var failures = new Exception?[models.Length];
        var threads = Enumerable.Range(0, models.Length).Select(rank => new Thread(() =>
        {
            try
            {
                results[rank] = step(models[rank], rank);
            }
            catch (Exception e)
            {
                failures[rank] = e;
                foreach (var communicator in communicators)
                {
                    communicator.Abort();
                }
            }
        })
        {
            IsBackground = true,
            Name = $"kernelsharp rank {rank}",
        }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        // The rank that failed first is the cause; the others only report that the group was aborted.
        var cause = failures.FirstOrDefault(f => f is not null and not GroupAbortedException) ?? failures.FirstOrDefault(f => f is not null);
        if (cause is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cause).Throw();
        }

        return results;
    }

    public void Dispose()
    {
        foreach (var model in models)
        {
            model.Dispose();
        }
    }
}

/// <summary>A collective could not complete because another rank of the group failed.</summary>
public sealed class GroupAbortedException() : InvalidOperationException("another rank of the group failed; this collective cannot complete");
