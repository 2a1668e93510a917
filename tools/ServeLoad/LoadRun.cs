using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using OpenAI;
using OpenAI.Chat;

namespace KernelSharp.Tools.ServeLoad;

/// <summary>
/// One load run: find the model, calibrate the prompt length, send the warm-up requests, then the measured ones from
/// <see cref="LoadOptions.Clients"/> concurrent clients, each streaming its reply and timing every text chunk.
/// </summary>
public static class LoadRun
{
    /// <summary>max_tokens of a warm-up request (at most the measured ones').</summary>
    public const int WarmupMaxTokens = 16;

    public static async Task<LoadSummary> RunAsync(LoadOptions options, TextWriter? log = null, CancellationToken cancel = default)
    {
        var client = new OpenAIClient(new ApiKeyCredential(options.ApiKey ?? "no-key"), new OpenAIClientOptions
        {
            Endpoint = options.Endpoint,
            // A load tool reports what the server did: a retried request would hide a 429 or a 503.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = options.Timeout,
        });
        string model = options.Model ?? await FirstModelAsync(client, options.Endpoint, cancel);
        ChatClient chat = client.GetChatClient(model);

        int words = await CalibrateAsync(chat, options, cancel);
        log?.WriteLine($"model '{model}': prompts of {words} words for ~{options.PromptTokens} prompt tokens");

        if (options.WarmupRequests > 0)
        {
            // short replies: enough decode steps at this concurrency to compile and tune the server's kernels for it
            var warmupOptions = options with { MaxTokens = Math.Min(options.MaxTokens, WarmupMaxTokens) };
            var warmup = await SendAllAsync(chat, warmupOptions, words, options.WarmupRequests, firstSeed: -options.WarmupRequests, cancel);
            log?.WriteLine($"warm-up: {warmup.Records.Count(r => r.Succeeded)} of {options.WarmupRequests} requests succeeded in {warmup.Wall.TotalSeconds:F1} s");
        }

        var measured = await SendAllAsync(chat, options, words, options.Requests, firstSeed: 0, cancel);
        return LoadSummary.From(options, model, words, measured.Records, measured.Wall);
    }

    /// <summary>The first model /v1/models lists; the place where an unreachable server or a wrong key shows first.</summary>
    private static async Task<string> FirstModelAsync(OpenAIClient client, Uri endpoint, CancellationToken cancel)
    {
        try
        {
            var models = (await client.GetOpenAIModelClient().GetModelsAsync(cancel)).Value;
            return models.FirstOrDefault()?.Id ?? throw new LoadToolException($"{endpoint}models lists no model; pass --model NAME");
        }
        catch (ClientResultException error) when (error.Status == 401)
        {
            throw new LoadToolException($"the server at {endpoint} refused the API key (401): pass the server's --api-key", error);
        }
        catch (ClientResultException error) when (error.Status != 0)
        {
            throw new LoadToolException($"GET {endpoint}models answered {error.Status}: {FirstLine(error.Message)}", error);
        }
        catch (Exception error) when (error is ClientResultException or HttpRequestException or IOException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            throw new LoadToolException($"cannot reach the server at {endpoint}: {FirstLine(error.GetBaseException().Message)}", error);
        }
    }

    /// <summary>
    /// The word count for the target prompt length, from the server's own prompt-token counts of two prompts (one-token
    /// replies, not measured): the chat template and the tokenizer are the server's business, not this tool's.
    /// </summary>
    private static async Task<int> CalibrateAsync(ChatClient chat, LoadOptions options, CancellationToken cancel)
    {
        int shorterWords = Math.Max(1, options.PromptTokens / 2);
        int longerWords = Math.Max(shorterWords + 1, options.PromptTokens);
        int shorter = await PromptTokensOf(chat, options.Endpoint, PromptText.Make(shorterWords, seed: int.MaxValue), cancel);
        int longer = await PromptTokensOf(chat, options.Endpoint, PromptText.Make(longerWords, seed: int.MaxValue), cancel);
        return PromptText.WordsFor(options.PromptTokens, (shorterWords, shorter), (longerWords, longer));
    }

    private static async Task<int> PromptTokensOf(ChatClient chat, Uri endpoint, string prompt, CancellationToken cancel)
    {
        try
        {
            var reply = await chat.CompleteChatAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 1, Temperature = 0 }, cancel);
            return reply.Value.Usage?.InputTokenCount
                ?? throw new LoadToolException("the server's reply has no usage (prompt token count): the prompt length cannot be calibrated");
        }
        catch (ClientResultException error) when (error.Status != 0)
        {
            throw new LoadToolException($"the calibration request failed with {error.Status}: {FirstLine(error.Message)}", error);
        }
        catch (Exception error) when (error is ClientResultException or HttpRequestException or IOException && !cancel.IsCancellationRequested)
        {
            throw new LoadToolException($"cannot reach the server at {endpoint}: {FirstLine(error.GetBaseException().Message)}", error);
        }
    }

    private static async Task<(List<RequestRecord> Records, TimeSpan Wall)> SendAllAsync(
        ChatClient chat, LoadOptions options, int words, int count, int firstSeed, CancellationToken cancel)
    {
        var records = new RequestRecord[count];
        int next = -1;
        long start = Stopwatch.GetTimestamp();
        async Task Client()
        {
            // Each client sends its next request as soon as its last one ends (closed loop), like the serving benchmarks.
            for (int index = Interlocked.Increment(ref next); index < count; index = Interlocked.Increment(ref next))
            {
                records[index] = await SendAsync(chat, options, index, PromptText.Make(words, firstSeed + index), start, cancel);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(options.Clients, count)).Select(_ => Task.Run(Client, cancel)));
        return (records.ToList(), Stopwatch.GetElapsedTime(start));
    }

    private static async Task<RequestRecord> SendAsync(ChatClient chat, LoadOptions options, int index, string prompt, long runStart, CancellationToken cancel)
    {
        // Options are per request: the client library writes the messages and stream flags into the object it is given.
        var requestOptions = new ChatCompletionOptions { MaxOutputTokenCount = options.MaxTokens, Temperature = options.Temperature };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(options.Timeout);
        long sent = Stopwatch.GetTimestamp();
        long? first = null;
        long last = sent;
        var gaps = new List<double>();
        int chunks = 0;
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        string? error = null;
        try
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(prompt)], requestOptions, timeout.Token))
            {
                long now = Stopwatch.GetTimestamp();
                if (update.ContentUpdate.Any(part => !string.IsNullOrEmpty(part.Text)))
                {
                    if (first is null)
                    {
                        first = now;
                    }
                    else
                    {
                        gaps.Add(Milliseconds(now - last));
                    }

                    last = now;
                    chunks++;
                }

                usage = update.Usage ?? usage;
                finish = update.FinishReason ?? finish;
            }

            if (usage is null)
            {
                error = "the stream ended without a usage chunk";
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            error = $"no complete reply within {options.Timeout.TotalSeconds:F0} s";
        }
        catch (ClientResultException failure)
        {
            error = failure.Status == 0 ? FirstLine(failure.GetBaseException().Message) : $"HTTP {failure.Status}: {FirstLine(failure.Message)}";
        }
        catch (Exception failure) when (!cancel.IsCancellationRequested)
        {
            // a broken connection, a malformed event: this request failed, the run goes on and counts it
            error = $"{failure.GetBaseException().GetType().Name}: {FirstLine(failure.GetBaseException().Message)}";
        }

        long end = Stopwatch.GetTimestamp();
        return new RequestRecord(
            index,
            Milliseconds(sent - runStart),
            first is long f ? Milliseconds(f - sent) : null,
            Milliseconds(end - sent),
            usage?.InputTokenCount ?? 0,
            usage?.OutputTokenCount ?? 0,
            chunks,
            gaps,
            finish is { } reason ? FinishReasonText(reason) : null,
            error);
    }

    private static string FinishReasonText(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Stop => "stop",
        ChatFinishReason.Length => "length",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.FunctionCall => "function_call",
        _ => reason.ToString(),
    };

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
