using KernelSharp.Runtime.Generation;

namespace KernelSharp.Cli.Serving;

/// <summary>The OpenAI response objects of one completion: whole (chat.completion / text_completion) or streamed chunks.</summary>
internal sealed class Reply(bool chat, string model, int promptTokens)
{
    private readonly string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    private readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public bool Chat => chat;

    public static string FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length or FinishReason.ContextFull => "length",
        _ => "stop",
    };

    public object Whole(GenerationResult result) => chat
        ? new
        {
            id,
            @object = "chat.completion",
            created,
            model,
            choices = new[] { new { index = 0, message = new { role = "assistant", content = result.Text }, finish_reason = FinishReasonText(result.FinishReason) } },
            usage = Usage(result),
        }
        : new
        {
            id,
            @object = "text_completion",
            created,
            model,
            choices = new[] { new { index = 0, text = result.Text, finish_reason = FinishReasonText(result.FinishReason) } },
            usage = Usage(result),
        };

    /// <param name="delta">Chat: the delta object; completions: the text piece.</param>
    public object Chunk(object delta, string? finishReason) => chat
        ? new { id, @object = "chat.completion.chunk", created, model, choices = new[] { new { index = 0, delta, finish_reason = finishReason } } }
        : new { id, @object = "text_completion", created, model, choices = new[] { new { index = 0, text = delta, finish_reason = finishReason } } };

    /// <summary>The last chunk before [DONE]: no choices, the token counts.</summary>
    public object UsageChunk(GenerationResult result) =>
        new { id, @object = chat ? "chat.completion.chunk" : "text_completion", created, model, choices = Array.Empty<object>(), usage = Usage(result) };

    private object Usage(GenerationResult result) =>
        new { prompt_tokens = promptTokens, completion_tokens = result.TokenIds.Count, total_tokens = promptTokens + result.TokenIds.Count };
}
