using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Model.Layers;
using KernelSharp.Runtime.Tests.Golden;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// A fixture's model wired to a <see cref="KernelModelBackend"/> through the model's own layers (Transformer,
/// LatentKvCache, ForwardBatch). DeepSeekModel.Load has no way to take a backend yet, so the tests build the same
/// pieces it builds; once DeviceSelector picks the kernel backend this harness can become a Load call.
/// </summary>
internal sealed class KernelModelHarness : IDisposable
{
    private readonly IModelBackend backend;
    private readonly Transformer transformer;
    private readonly LatentKvCache cache;
    private readonly KvCacheFormat kvCache;

    /// <param name="backend">A kernel backend shared by the tests (its device keeps the compiled kernels); not disposed here.</param>
    /// <param name="kvCache">How the harness's sequences keep their latent cache.</param>
    public KernelModelHarness(string fixture, KernelModelBackend backend, int maxContext, KvCacheFormat kvCache = KvCacheFormat.Fp32)
    {
        this.kvCache = kvCache;
        var directory = Fixtures.Directory(fixture);
        Config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        this.backend = backend;
        using var checkpoint = Checkpoint.Open(directory, Config.Quantization);
        transformer = new Transformer(backend, new WeightLoader(new CheckpointWeightSource(checkpoint), backend, Transformer.TensorCount(Config), null), Config,
            KernelSharp.Runtime.Distributed.ModelParallelism.Single);
        cache = LatentKvCache.Standalone(backend, Config, maxContext, kvCache);
    }

    public ModelConfig Config { get; }

    /// <summary>Appends tokens to the harness's own sequence; logits [tokens.Length × vocab].</summary>
    public float[] Prefill(ReadOnlySpan<int> tokens) => Forward((cache, tokens.ToArray()));

    /// <summary>As <see cref="Prefill(ReadOnlySpan{int})"/>, recording intermediate values in <paramref name="trace"/>.</summary>
    public float[] Prefill(ReadOnlySpan<int> tokens, ForwardTrace trace) => Run([(cache, tokens.ToArray())], trace);

    /// <summary>Another sequence's caches (dispose it after use).</summary>
    public LatentKvCache NewSequence(int maxContext) => LatentKvCache.Standalone(backend, Config, maxContext, kvCache);

    /// <summary>One forward pass over several sequences, each continuing its cache → logits [all rows × vocab], sequence by sequence.</summary>
    public float[] Forward(params (LatentKvCache Cache, int[] Tokens)[] sequences) => Run(sequences, trace: null);

    private float[] Run((LatentKvCache Cache, int[] Tokens)[] sequences, ForwardTrace? trace)
    {
        var batch = new ForwardBatch();
        foreach (var (sequence, tokens) in sequences)
        {
            batch.Add(sequence, tokens.Length);
        }

        using var logits = transformer.Forward(sequences.SelectMany(s => s.Tokens).ToArray(), batch, allRows: true, trace);
        batch.Commit();
        return backend.Download(logits);
    }

    public void Dispose() => cache.Dispose();
}
