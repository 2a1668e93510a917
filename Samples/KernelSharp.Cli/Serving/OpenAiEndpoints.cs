using System.Text.Json;
using KernelSharp.Cli.Hosting;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Serving;
using Microsoft.AspNetCore.Http;

namespace KernelSharp.Cli.Serving;

/// <summary>
/// POST /v1/chat/completions and /v1/completions: body → <see cref="ServingRequest"/> → engine → OpenAI JSON, or
/// server-sent events when <c>stream</c> is true (role chunk, text chunks, finish chunk, usage chunk, [DONE]).
/// The request's abort token is the sequence's cancellation, so a client that disconnects frees its sequence.
/// </summary>
internal sealed class OpenAiEndpoints(OpenAiServer server)
{
    public async Task Complete(HttpContext context, bool chat)
    {
        var state = server.State ?? throw new ApiException(503, "service_unavailable", "the model is still loading; retry shortly");
        var body = CompletionBody.Parse(await ReadJson(context), chat);
        if (body.Model is not null && body.Model != server.ModelName)
        {
            throw new ApiException(404, "invalid_request_error", $"the model '{body.Model}' does not exist; this server serves '{server.ModelName}'", "model");
        }

        var prompt = chat
            ? ChatPrompt.Encode(state.Tokenizer, body.Messages!, thinking: false)
            : state.Tokenizer.Encode(body.Prompt!, addSpecialTokens: true);
        if (prompt.Length >= state.MaxContext)
        {
            throw new ApiException(413, "invalid_request_error",
                $"the prompt is {prompt.Length} tokens but the context holds {state.MaxContext} (prompt + at least one new token)", chat ? "messages" : "prompt");
        }

        var sampling = new SamplingOptions(body.Temperature, TopK: 0, body.TopP, body.Seed);
        var maxTokens = Math.Min(body.MaxTokens ?? int.MaxValue, state.MaxContext - prompt.Length);
        var request = new ServingRequest(prompt, new GenerationRequest(maxTokens, sampling, state.StopTokenIds, body.Stop));
        ServingSequence sequence;
        try
        {
            sequence = state.Engine.Submit(request, context.RequestAborted);
        }
        catch (ServingRejectedException rejected)
        {
            throw rejected.Reason switch
            {
                RejectionReason.QueueFull => new ApiException(429, "rate_limit_exceeded", rejected.Message) { CountedByEngine = true },
                RejectionReason.TooLong => new ApiException(413, "invalid_request_error", rejected.Message) { CountedByEngine = true },
                RejectionReason.ShuttingDown => new ApiException(503, "service_unavailable", rejected.Message) { CountedByEngine = true },
                _ => new ApiException(400, "invalid_request_error", rejected.Message) { CountedByEngine = true },
            };
        }

        var reply = new Reply(chat, server.ModelName, prompt.Length);
        if (body.Stream)
        {
            await Stream(context, sequence, reply);
        }
        else
        {
            var result = await sequence.Completion.WaitAsync(context.RequestAborted);
            await OpenAiServer.WriteJson(context, 200, reply.Whole(result));
        }
    }

    private static async Task Stream(HttpContext context, ServingSequence sequence, Reply reply)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var aborted = context.RequestAborted;
        if (reply.Chat)
        {
            await Event(response, reply.Chunk(new { role = "assistant", content = string.Empty }, null), aborted);
        }

        await foreach (var piece in sequence.Text.ReadAllAsync(aborted))
        {
            await Event(response, reply.Chunk(reply.Chat ? new { content = piece } : piece, null), aborted);
        }

        var result = await sequence.Completion.WaitAsync(aborted);
        await Event(response, reply.Chunk(reply.Chat ? new { } : string.Empty, Reply.FinishReasonText(result.FinishReason)), aborted);
        await Event(response, reply.UsageChunk(result), aborted);
        await response.WriteAsync("data: [DONE]\n\n", aborted);
    }

    private static async Task Event(HttpResponse response, object payload, CancellationToken aborted)
    {
        await response.WriteAsync("data: ", aborted);
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(payload), aborted);
        await response.WriteAsync("\n\n", aborted);
        await response.Body.FlushAsync(aborted);
    }

    private static async Task<JsonElement> ReadJson(HttpContext context)
    {
        // any content type is read as JSON: curl -d sends form-urlencoded, and servers in this space accept it
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return document.RootElement.Clone();
        }
        catch (JsonException error)
        {
            throw new ApiException(400, "invalid_request_error", $"the body is not valid JSON{JsonErrorText.Describe(error)}");
        }
    }
}
