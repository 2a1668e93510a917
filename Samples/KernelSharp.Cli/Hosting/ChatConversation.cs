using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// A multi-turn conversation over one KV-cached session. Each turn renders the whole history through the chat
/// template, but only the tokens after the longest prefix it shares with what the cache already holds are prefilled:
/// turn 2 costs its own message, not the whole conversation again.
/// </summary>
/// <remarks>
/// Reuse is decided token by token, never assumed: the template is not always prefix-stable (in thinking mode the
/// last assistant turn is written with its reasoning after <c>&lt;think&gt;</c>, but without it once another user
/// message follows; and re-encoding a reply's text may not give back the sampled ids). Wherever the new rendering
/// departs from the cached tokens, the cache is cut back to the shared prefix and the rest is prefilled again, so the
/// result is the same as a run from scratch on the whole rendered history.
/// </remarks>
public sealed class ChatConversation
{
    private readonly BpeTokenizer _tokenizer;
    private readonly InferenceSession _session;
    private readonly bool _thinking;
    private readonly List<ChatTurn> _history = [];
    private readonly int _systemTurns;
    private List<int> _cachedTokens = []; // exactly the ids whose keys the session holds, in order

    public ChatConversation(BpeTokenizer tokenizer, InferenceSession session, bool thinking, string? systemPrompt)
    {
        _tokenizer = tokenizer;
        _session = session;
        _thinking = thinking;
        if (systemPrompt is not null)
        {
            _history.Add(ChatPrompt.System(systemPrompt));
        }
        _systemTurns = _history.Count;
        _session.Reset();
    }

    public IReadOnlyList<ChatTurn> History => _history;

    /// <summary>Cached tokens the last turn reused instead of prefilling them again.</summary>
    public int LastReusedTokens { get; private set; }

    /// <summary>The whole rendered prompt of the last turn (what a from-scratch run would prefill).</summary>
    public IReadOnlyList<int> LastPromptTokens { get; private set; } = [];

    /// <summary>The chat template's text for the history plus <paramref name="userMessage"/> (for --show-prompt).</summary>
    public string RenderWith(string userMessage)
        => ChatTemplate.DeepSeekV32.Format([.. _history, ChatPrompt.User(userMessage)], _thinking);

    /// <summary>Tokens the history plus <paramref name="userMessage"/> renders to.</summary>
    public int[] EncodeWith(string userMessage) => ChatPrompt.Encode(_tokenizer, [.. _history, ChatPrompt.User(userMessage)], _thinking);

    /// <summary>
    /// Answers <paramref name="userMessage"/>. The caller checks first that <see cref="EncodeWith"/> fits the context.
    /// A cancelled reply is not added to the history (the cache is cut back so the next turn stays consistent).
    /// </summary>
    public GenerationResult Reply(string userMessage, GenerationRequest request, Action<string>? onText, CancellationToken cancellation)
    {
        int[] prompt = EncodeWith(userMessage);
        int shared = SharedPrefix(_cachedTokens, prompt);
        // Generation needs at least one token to prefill: the logits of the last prompt token are not kept.
        int reuse = Math.Min(shared, prompt.Length - 1);
        _session.Truncate(reuse);
        // Until generation returns, only the reused prefix is known to be in the cache: if it throws, the next turn
        // must not trust tokens it may not have written.
        _cachedTokens = [.. prompt[..reuse]];
        LastReusedTokens = reuse;
        LastPromptTokens = prompt;

        StreamingDecoder decoder = _tokenizer.CreateStreamingDecoder();
        GenerationResult result = TextGenerator.Generate(_session, prompt[reuse..], request, decoder.Push, onText, cancellation);

        // The session now holds the prompt and every sampled token but the last (its logits were never needed).
        int decoded = _session.Length - prompt.Length;
        _cachedTokens = [.. prompt, .. result.TokenIds.Take(decoded)];
        if (result.FinishReason != FinishReason.Cancelled)
        {
            _history.Add(ChatPrompt.User(userMessage));
            _history.Add(ChatPrompt.Assistant(result.Text));
        }
        return result;
    }

    /// <summary>Forgets every turn but the system prompt; the cache keeps the shared system-prompt prefix.</summary>
    public void Reset() => _history.RemoveRange(_systemTurns, _history.Count - _systemTurns);

    private static int SharedPrefix(IReadOnlyList<int> cached, int[] prompt)
    {
        int n = Math.Min(cached.Count, prompt.Length);
        int i = 0;
        while (i < n && cached[i] == prompt[i])
        {
            i++;
        }
        return i;
    }
}
