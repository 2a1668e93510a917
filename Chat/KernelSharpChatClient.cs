using System.Runtime.CompilerServices;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Serving;
using KernelSharp.Runtime.Tokenization;
using Microsoft.Extensions.AI;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;

namespace KernelSharp.Chat;

/// <summary>
/// An <see cref="IChatClient"/> over a KernelSharp model, so any Microsoft.Extensions.AI app can chat with a DeepSeek-V3.2
/// checkpoint. Each request formats the whole conversation with the V3.2 chat template and runs as one sequence of a
/// <see cref="ServingEngine"/>, the same engine <c>kernelsharp serve</c> uses: concurrent calls are decoded together in
/// one batched step (continuous batching), and a call's CancellationToken (or a stream the caller stops reading) ends its
/// sequence and frees its cache at once. ChatOptions map to sampling: Temperature, TopP, TopK, Seed, MaxOutputTokens,
/// StopSequences, Instructions (a system prompt). A request the engine refuses (too long for the context, queue full)
/// throws <see cref="ServingRejectedException"/> with a one-line message. A library of its own (package KernelSharp.Chat),
/// so an app references it without the CLI, and the runtime stays free of the Microsoft.Extensions.AI dependency.
/// <see cref="GetService"/> hands out the <see cref="ServingEngine"/> (for its <see cref="ServingEngine.Metrics"/>).
/// </summary>
public sealed class KernelSharpChatClient : IChatClient
{
    private readonly ServingEngine engine;
    private readonly BpeTokenizer tokenizer;
    private readonly IReadOnlyCollection<int> stopTokenIds;
    private readonly bool thinking;
    private readonly IDisposable? owned;
    private readonly ChatClientMetadata metadata;
    private volatile bool disposed;

    /// <param name="engine">Runs the requests; it must have been created with the same <paramref name="tokenizer"/> (it writes the reply text).</param>
    /// <param name="tokenizer">Encodes the formatted conversation.</param>
    /// <param name="stopTokenIds">Tokens that end a reply (EOS).</param>
    /// <param name="owned">Disposed with the client, after nothing runs on it any more (the engine, then the model), or null.</param>
    public KernelSharpChatClient(
        ServingEngine engine, BpeTokenizer tokenizer, IReadOnlyCollection<int> stopTokenIds, string modelId, bool thinking = false, IDisposable? owned = null)
    {
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.stopTokenIds = stopTokenIds;
        this.thinking = thinking;
        this.owned = owned;
        metadata = new ChatClientMetadata("kernelsharp", null, modelId);
    }

    /// <summary>
    /// Loads a model folder (config.json, weights, tokenizer.json) on a device (auto|cuda|opencl|ilgpu-cpu|cpu) and starts
    /// an engine that decodes up to <paramref name="maxBatch"/> requests together, each with up to
    /// <paramref name="contextSize"/> positions (prompt + reply); the client owns both and disposes them.
    /// </summary>
    /// <exception cref="UserInputException">The folder, its config, tokenizer or weights are missing or invalid (one line naming the file), or a setting is out of range.</exception>
    public static KernelSharpChatClient Load(string modelDirectory, string device = "auto", int contextSize = 4096, bool thinking = false, int maxBatch = 8)
    {
        InputFiles.RequireFolder(modelDirectory, "model folder", "expected the model folder that holds config.json", message => new UserInputException(message));

        ModelConfig config = ModelConfig.Load(Path.Combine(modelDirectory, "config.json"));
        string tokenizerPath = Path.Combine(modelDirectory, "tokenizer.json");
        string tokenizerConfigPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        BpeTokenizer tokenizer = BpeTokenizer.Load(tokenizerPath, File.Exists(tokenizerConfigPath) ? tokenizerConfigPath : null);
        int context = Math.Min(contextSize, config.MaxPositionEmbeddings);
        // Every running sequence may hold a full context, as `kernelsharp serve` does without --kv-memory.
        var options = new ServingOptions(MaxBatch: maxBatch, KvTokenBudget: (long)maxBatch * context, MaxContext: context);
        string? invalid = options.FindInvalidSetting();
        if (invalid is not null)
        {
            throw new UserInputException(invalid); // before the weights load, not after
        }

        DeepSeekModel model = DeepSeekModel.Load(modelDirectory, new ModelLoadOptions { Device = device, MaxContext = context });
        ServingEngine engine;
        try
        {
            engine = new ServingEngine(model, options, tokenizer);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        var stopTokenIds = new HashSet<int>(config.EosTokenIds);
        if (tokenizer.EosTokenId is int eos)
        {
            stopTokenIds.Add(eos);
        }

        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDirectory)));
        // The engine first: it cancels what still runs and stops its step thread before the model's memory goes.
        return new KernelSharpChatClient(engine, tokenizer, stopTokenIds, name, thinking, new CompositeDisposable(engine, model));
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ServingSequence sequence = Submit(messages, options, cancellationToken);
        // Not WaitAsync(cancellationToken): on cancellation the engine ends the sequence at its next step boundary, and
        // waiting for that means the cache is free by the time the caller sees the OperationCanceledException.
        GenerationResult result = await sequence.Completion.ConfigureAwait(false);
        ThrowIfCancelled(result, cancellationToken);
        return new ChatResponse(new ChatMessage(AiChatRole.Assistant, result.Text))
        {
            ResponseId = Guid.NewGuid().ToString("N"),
            FinishReason = MapFinish(result.FinishReason),
            ModelId = metadata.DefaultModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            Usage = Usage(result),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ServingSequence sequence = Submit(messages, options, cancellationToken);
        try
        {
            string responseId = Guid.NewGuid().ToString("N");
            // The text channel completes when the sequence ends for any reason (cancellation included), so reading it
            // with no token of its own cannot hang.
            await foreach (string piece in sequence.Text.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                yield return new ChatResponseUpdate(AiChatRole.Assistant, piece) { ResponseId = responseId, ModelId = metadata.DefaultModelId };
            }

            GenerationResult result = await sequence.Completion.ConfigureAwait(false);
            ThrowIfCancelled(result, cancellationToken);
            yield return new ChatResponseUpdate(AiChatRole.Assistant, [new UsageContent(Usage(result))])
            {
                ResponseId = responseId,
                ModelId = metadata.DefaultModelId,
                FinishReason = MapFinish(result.FinishReason),
            };
        }
        finally
        {
            // The caller stopped enumerating early: end the sequence and wait until its cache is free.
            if (!sequence.Completion.IsCompleted)
            {
                sequence.Cancel();
                await sequence.Completion.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        if (serviceKey is not null)
        {
            return null;
        }
        if (serviceType == typeof(ChatClientMetadata))
        {
            return metadata;
        }
        if (serviceType == typeof(ServingEngine))
        {
            return engine;
        }
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        owned?.Dispose();
    }

    /// <summary>Sampling settings from ChatOptions (invalid values are the caller's bug: ArgumentOutOfRangeException).</summary>
    public static SamplingOptions SamplingFrom(ChatOptions? options)
    {
        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions(
            options?.Temperature ?? defaults.Temperature,
            options?.TopK ?? defaults.TopK,
            options?.TopP ?? defaults.TopP,
            options?.Seed is long seed ? (int)(seed & int.MaxValue) : null);
        string? invalid = sampling.FindInvalidSetting();
        if (invalid is not null)
        {
            throw new ArgumentOutOfRangeException(nameof(options), invalid);
        }
        return sampling;
    }

    /// <summary>Formats the conversation and queues it on the engine; the engine's refusals (ServingRejectedException) pass through.</summary>
    private ServingSequence Submit(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            turns.Add(ChatTurn.System(options.Instructions));
        }
        foreach (ChatMessage message in messages)
        {
            turns.Add(ToTurn(message));
        }
        if (turns.Count == 0)
        {
            throw new ArgumentException("the conversation has no messages", nameof(messages));
        }
        int[] prompt = ChatTemplate.DeepSeekV32.Encode(tokenizer, turns, thinking);
        if (options?.MaxOutputTokens is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxOutputTokens must be >= 1, got {options.MaxOutputTokens}");
        }
        // The reply gets what the context leaves after the prompt (at most MaxOutputTokens), so the sequence reserves no
        // more cache than it can use. A prompt that leaves no room keeps one token here so the engine refuses it as too long.
        int room = Math.Max(engine.Options.MaxContext - prompt.Length, 1);
        int maxTokens = Math.Min(options?.MaxOutputTokens ?? room, room);
        var request = new GenerationRequest(maxTokens, SamplingFrom(options), stopTokenIds, options?.StopSequences?.ToArray() ?? []);
        return engine.Submit(new ServingRequest(prompt, request), cancellationToken);
    }

    /// <summary>A sequence ends as cancelled when the caller's token fired, or when the client was disposed under it.</summary>
    private static void ThrowIfCancelled(GenerationResult result, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (result.FinishReason == FinishReason.Cancelled)
        {
            throw new OperationCanceledException("the chat client was disposed while the request ran");
        }
    }

    private static ChatTurn ToTurn(ChatMessage message)
    {
        if (message.Role == AiChatRole.System)
        {
            return ChatTurn.System(message.Text);
        }
        if (message.Role == AiChatRole.User)
        {
            return ChatTurn.User(message.Text);
        }
        if (message.Role == AiChatRole.Assistant)
        {
            return ChatTurn.Assistant(message.Text);
        }
        throw new ArgumentException($"messages with role '{message.Role}' are not supported (system, user, assistant only)", nameof(message));
    }

    private static ChatFinishReason MapFinish(FinishReason reason) => reason switch
    {
        FinishReason.StopToken or FinishReason.StopSequence => ChatFinishReason.Stop,
        _ => ChatFinishReason.Length,
    };

    private static UsageDetails Usage(GenerationResult result) => new()
    {
        InputTokenCount = result.Stats.PromptTokens,
        OutputTokenCount = result.Stats.GeneratedTokens,
        TotalTokenCount = result.Stats.PromptTokens + result.Stats.GeneratedTokens,
    };
}
