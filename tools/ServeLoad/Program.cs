using System.CommandLine;
using KernelSharp.Tools.ServeLoad;

// serveload: concurrent streaming chat requests against an OpenAI-compatible server, summarised as throughput, TTFT and
// inter-token latency percentiles (markdown on stdout, everything with every request as JSON with --json).
// Exit codes: 0 every request succeeded, 1 the run could not start (one line on stderr), 2 some requests failed.

var url = new Option<string>("--url") { Description = "the server's OpenAI base address", DefaultValueFactory = _ => "http://127.0.0.1:8080/v1" };
var clients = Positive(new Option<int>("--clients") { Description = "concurrent clients", DefaultValueFactory = _ => 8 });
var requests = Positive(new Option<int>("--requests") { Description = "measured requests in all", DefaultValueFactory = _ => 64 });
var promptTokens = Positive(new Option<int>("--prompt-tokens") { Description = "prompt length to aim for, chat template included", DefaultValueFactory = _ => 128 });
var maxTokens = Positive(new Option<int>("--max-tokens") { Description = "max_tokens of every request", DefaultValueFactory = _ => 128 });
var warmup = new Option<int>("--warmup") { Description = "unmeasured requests first, replies of at most 16 tokens (the server compiles kernels on its first batches)", DefaultValueFactory = _ => 0 };
var apiKey = new Option<string?>("--api-key") { Description = "the server's --api-key" };
var model = new Option<string?>("--model") { Description = "model name (default: the first one /v1/models lists)" };
var temperature = new Option<float>("--temperature") { Description = "sampling temperature; 0 is greedy", DefaultValueFactory = _ => 0f };
var timeout = Positive(new Option<int>("--timeout") { Description = "seconds one request may take", DefaultValueFactory = _ => 600 });
var json = new Option<string?>("--json") { Description = "also write the summary and every request to this JSON file" };
warmup.Validators.Add(result =>
{
    if (result.GetValueOrDefault<int>() < 0)
    {
        result.AddError("--warmup must be 0 or more");
    }
});

var root = new RootCommand("Load test for `kernelsharp serve` (any OpenAI-compatible server): N concurrent streaming chat clients.")
{
    url, clients, requests, promptTokens, maxTokens, warmup, apiKey, model, temperature, timeout, json,
};
root.SetAction(async (parsed, cancel) =>
{
    if (!Uri.TryCreate(parsed.GetValue(url)!.TrimEnd('/') + "/", UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
    {
        Console.Error.WriteLine($"error: --url {parsed.GetValue(url)} is not an http(s) address such as http://127.0.0.1:8080/v1");
        return 1;
    }

    var options = new LoadOptions(
        endpoint, parsed.GetValue(clients), parsed.GetValue(requests), parsed.GetValue(promptTokens), parsed.GetValue(maxTokens),
        parsed.GetValue(warmup), parsed.GetValue(apiKey), parsed.GetValue(model), parsed.GetValue(temperature),
        TimeSpan.FromSeconds(parsed.GetValue(timeout)));
    LoadSummary summary;
    try
    {
        summary = await LoadRun.RunAsync(options, Console.Error, cancel);
    }
    catch (LoadToolException error)
    {
        Console.Error.WriteLine($"error: {error.Message}");
        return 1;
    }
    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
    {
        Console.Error.WriteLine("interrupted: no summary");
        return 130;
    }

    Console.Write(summary.ToMarkdown());
    if (parsed.GetValue(json) is string path)
    {
        await File.WriteAllTextAsync(path, summary.ToJson(), cancel);
    }

    return summary.Failed == 0 ? 0 : 2;
});
var parsedArgs = root.Parse(args);
if (parsedArgs.Errors.Count > 0)
{
    // one line per mistake instead of the whole help text
    foreach (var error in parsedArgs.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message} (--help lists the options)");
    }

    return 1;
}

return await parsedArgs.InvokeAsync();

static Option<int> Positive(Option<int> option)
{
    option.Validators.Add(result =>
    {
        if (result.GetValueOrDefault<int>() < 1)
        {
            result.AddError($"{option.Name} must be 1 or more");
        }
    });
    return option;
}
