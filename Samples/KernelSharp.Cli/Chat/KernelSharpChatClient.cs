using System.Runtime.CompilerServices;
using System.Threading.Channels;
using KernelSharp.Cli.Hosting;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;
using Microsoft.Extensions.AI;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;

namespace KernelSharp.Cli.Chat;

/// <summary>
/// An <see cref="IChatClient"/> over a KernelSharp model, so any Microsoft.Extensions.AI app can chat with a DeepSeek-V3.2
/// checkpoint. Each request formats the whole conversation with the V3.2 chat template and generates on one KV-cached
/// session; requests are served one at a time. ChatOptions map to sampling: Temperature, TopP, TopK, Seed,
/// MaxOutputTokens, StopSequences, Instructions (a system prompt). Lives in the CLI project, which already references
/// Microsoft.Extensions.AI.Abstractions, so the runtime stays free of that dependency.
/// </summary>
public sealed class KernelSharpChatClient : IChatClient
{
    private readonly ILogitsSession session;
    private readonly BpeTokenizer tokenizer;
    private readonly IReadOnlyCollection<int> stopTokenIds;
    private readonly bool thinking;
    private readonly IDisposable? owned;
    private readonly SemaphoreSlim oneRequestAtATime = new(1, 1);
    private readonly ChatClientMetadata metadata;

    /// <param name="session">The model's session; its cache is reset for each request.</param>
    /// <param name="stopTokenIds">Tokens that end a reply (EOS).</param>
    /// <param name="owned">Disposed with the client (the model), or null.</param>
    public KernelSharpChatClient(
        ILogitsSession session, BpeTokenizer tokenizer, IReadOnlyCollection<int> stopTokenIds, string modelId, bool thinking = false, IDisposable? owned = null)
    {
        this.session = session;
        this.tokenizer = tokenizer;
        this.stopTokenIds = stopTokenIds;
        this.thinking = thinking;
        this.owned = owned;
        metadata = new ChatClientMetadata("kernelsharp", null, modelId);
    }

    /// <summary>Loads a model folder (config.json, weights, tokenizer.json) on a device: auto|cuda|opencl|cpu|ilgpu-cpu.</summary>
    public static KernelSharpChatClient Load(string modelDirectory, string device = "auto", int contextSize = 4096, bool thinking = false)
    {
        ModelFolder folder = ModelFolder.Open(modelDirectory);
        BpeTokenizer tokenizer = folder.LoadTokenizer();
        int context = Math.Min(contextSize, folder.Config.MaxPositionEmbeddings);
        var silent = new CliContext(TextWriter.Null, TextWriter.Null, TextReader.Null, CancellationToken.None, ErrorIsTerminal: false);
        DeepSeekModel model = folder.LoadModel(device, context, silent);
        InferenceSession session = model.CreateSession(context);
        return new KernelSharpChatClient(session, tokenizer, folder.StopTokenIds(tokenizer), folder.Name, thinking, new CompositeDisposable(session, model));
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        (int[] prompt, GenerationRequest request) = Prepare(messages, options);
        await oneRequestAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            GenerationResult result = await Task.Run(() => Generate(prompt, request, onText: null, cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return new ChatResponse(new ChatMessage(AiChatRole.Assistant, result.Text))
            {
                FinishReason = MapFinish(result.FinishReason),
                ModelId = metadata.DefaultModelId,
                CreatedAt = DateTimeOffset.UtcNow,
                Usage = Usage(result),
            };
        }
        finally
        {
            oneRequestAtATime.Release();
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (int[] prompt, GenerationRequest request) = Prepare(messages, options);
        await oneRequestAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Also cancelled when the caller stops enumerating early, so the session is free again before the next request.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<GenerationResult>? generation = null;
        try
        {
            // The model runs on a worker thread; its text pieces reach the caller through a channel as they are produced.
            var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            generation = Task.Run(() =>
            {
                try
                {
                    return Generate(prompt, request, piece => pieces.Writer.TryWrite(piece), stop.Token);
                }
                finally
                {
                    pieces.Writer.TryComplete();
                }
            }, CancellationToken.None);

            string responseId = Guid.NewGuid().ToString("N");
            await foreach (string piece in pieces.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                yield return new ChatResponseUpdate(AiChatRole.Assistant, piece) { ResponseId = responseId, ModelId = metadata.DefaultModelId };
            }
            GenerationResult result = await generation.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(AiChatRole.Assistant, [new UsageContent(Usage(result))])
            {
                ResponseId = responseId,
                ModelId = metadata.DefaultModelId,
                FinishReason = MapFinish(result.FinishReason),
            };
        }
        finally
        {
            if (generation is not null && !generation.IsCompleted)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await generation.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
            oneRequestAtATime.Release();
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
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
        owned?.Dispose();
        oneRequestAtATime.Dispose();
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

    private (int[] Prompt, GenerationRequest Request) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            turns.Add(ChatPrompt.System(options.Instructions));
        }
        foreach (ChatMessage message in messages)
        {
            turns.Add(ToTurn(message));
        }
        if (turns.Count == 0)
        {
            throw new ArgumentException("the conversation has no messages", nameof(messages));
        }
        int[] prompt = ChatPrompt.Encode(tokenizer, turns, thinking);
        int room = session.MaxContext - prompt.Length;
        if (room < 0)
        {
            throw new ArgumentException(
                $"the conversation is {prompt.Length} tokens but the context holds {session.MaxContext}", nameof(messages));
        }
        int maxTokens = options?.MaxOutputTokens ?? Math.Max(room, 1);
        if (maxTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxOutputTokens must be >= 1, got {maxTokens}");
        }
        var request = new GenerationRequest(
            maxTokens, SamplingFrom(options), stopTokenIds, options?.StopSequences?.ToArray() ?? []);
        return (prompt, request);
    }

    private GenerationResult Generate(int[] prompt, GenerationRequest request, Action<string>? onText, CancellationToken cancellation)
    {
        session.Reset();
        StreamingDecoder decoder = tokenizer.CreateStreamingDecoder();
        return TextGenerator.Generate(session, prompt, request, decoder.Push, onText, cancellation);
    }

    private static ChatTurn ToTurn(ChatMessage message)
    {
        if (message.Role == AiChatRole.System)
        {
            return ChatPrompt.System(message.Text);
        }
        if (message.Role == AiChatRole.User)
        {
            return ChatPrompt.User(message.Text);
        }
        if (message.Role == AiChatRole.Assistant)
        {
            return ChatPrompt.Assistant(message.Text);
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
