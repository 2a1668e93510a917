using System.Text.Json;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Serving;

/// <summary>
/// The fields of a /v1/chat/completions or /v1/completions body the server uses, checked one by one so a wrong field
/// gets a 400 naming it and what was expected. Unknown fields are ignored, as OpenAI-compatible servers do.
/// </summary>
internal sealed record CompletionBody(
    string? Model,
    IReadOnlyList<ChatTurn>? Messages,
    string? Prompt,
    int? MaxTokens,
    float Temperature,
    float TopP,
    int? Seed,
    IReadOnlyList<string> Stop,
    bool Stream)
{
    private const int MaxStopSequences = 4;

    public static CompletionBody Parse(JsonElement root, bool chat)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ApiException(400, "invalid_request_error", "the request body must be a JSON object");
        }

        RequireOneChoice(root);

        return new CompletionBody(
            OptionalString(root, "model"),
            chat ? ReadMessages(root) : null,
            chat ? null : PromptText(root),
            ReadMaxTokens(root),
            OptionalFloat(root, "temperature", 1f, t => t is >= 0f and <= 2f, "a number from 0 to 2"),
            OptionalFloat(root, "top_p", 1f, p => p is > 0f and <= 1f, "a number in (0, 1]"),
            ReadSeed(root),
            StopSequences(root),
            OptionalBool(root, "stream"));
    }

    private static IReadOnlyList<ChatTurn> ReadMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw ApiException.InvalidField("messages", "a non-empty array of {role, content} objects is required");
        }

        var turns = new List<ChatTurn>();
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var field = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.InvalidField(field, "expected an object with role and content");
            }

            var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? Text(r, field + ".role") : null;
            var content = Content(message, field);
            turns.Add(role switch
            {
                "system" or "developer" => ChatTurn.System(content),
                "user" => ChatTurn.User(content),
                "assistant" => ChatTurn.Assistant(content),
                _ => throw ApiException.InvalidField(field + ".role", "expected 'system', 'developer', 'user' or 'assistant'"),
            });
        }

        return turns;
    }

    /// <summary>A message's text: a string, or an array of {type: "text", text} parts joined.</summary>
    private static string Content(JsonElement message, string field)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return string.Empty;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return Text(content, field + ".content");
        }

        if (content.ValueKind == JsonValueKind.Array)
        {
            var parts = new List<string>();
            foreach (var part in content.EnumerateArray())
            {
                if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                {
                    throw ApiException.InvalidField(field + ".content", "only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                }

                parts.Add(Text(text, field + ".content"));
            }

            return string.Concat(parts);
        }

        throw ApiException.InvalidField(field + ".content", "expected a string or an array of text parts");
    }

    private static string PromptText(JsonElement root)
    {
        if (root.TryGetProperty("prompt", out var prompt))
        {
            if (prompt.ValueKind == JsonValueKind.String)
            {
                return Text(prompt, "prompt");
            }

            if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            {
                return Text(prompt[0], "prompt");
            }
        }

        throw ApiException.InvalidField("prompt", "a string (or an array holding one string) is required: one prompt per request, as text");
    }

    /// <summary>max_completion_tokens (OpenAI's current name) or max_tokens; errors name the field that was sent.</summary>
    private static int? ReadMaxTokens(JsonElement root)
    {
        var name = root.TryGetProperty("max_completion_tokens", out var current) && current.ValueKind != JsonValueKind.Null ? "max_completion_tokens" : "max_tokens";
        var value = OptionalInteger(root, name, int.MaxValue);
        if (value is < 1)
        {
            throw ApiException.InvalidField(name, $"must be at least 1 (got {value})");
        }

        return (int?)value;
    }

    /// <summary>A 64-bit seed, as OpenAI takes it, folded to the sampler's 32 bits (each seed still gives one fixed sequence).</summary>
    private static int? ReadSeed(JsonElement root) =>
        OptionalInteger(root, "seed", long.MaxValue, long.MinValue) is long seed ? (int)(seed ^ (seed >> 32)) : null;

    /// <summary>OpenAI returns one choice per request here: n must be absent or 1.</summary>
    private static void RequireOneChoice(JsonElement root)
    {
        if (OptionalInteger(root, "n", long.MaxValue, long.MinValue) is long n && n != 1)
        {
            throw ApiException.InvalidField("n", $"only 1 choice per request is supported (got {n}); send n separate requests");
        }
    }

    /// <summary>A JSON string's text; invalid UTF-8 or a lone surrogate escape is the client's error, named by field.</summary>
    private static string Text(JsonElement value, string field)
    {
        try
        {
            return value.GetString()!;
        }
        catch (Exception error) when (error is InvalidOperationException or ArgumentException)
        {
            throw ApiException.InvalidField(field, "expected valid UTF-8 text (the string holds invalid bytes or an unpaired surrogate escape)");
        }
    }

    private static IReadOnlyList<string> StopSequences(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return [Text(stop, "stop")];
        }

        if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() <= MaxStopSequences
            && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
        {
            return stop.EnumerateArray().Select(s => Text(s, "stop")).ToArray();
        }

        throw ApiException.InvalidField("stop", $"expected a string or an array of at most {MaxStopSequences} strings");
    }

    private static string? OptionalString(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? Text(value, name)
        : throw ApiException.InvalidField(name, "expected a string");

    /// <summary>
    /// An optional whole number from <paramref name="minimum"/> to <paramref name="maximum"/>; written as an integer or
    /// as a number with no fraction (5.0, 1e2), as JSON encoders of other languages may send it.
    /// </summary>
    private static long? OptionalInteger(JsonElement root, string name, long maximum, long minimum = long.MinValue)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw ApiException.InvalidField(name, $"expected an integer, got {value.GetRawText()}");
        }

        if (value.TryGetInt64(out var whole) || (value.TryGetDouble(out var number) && Math.Floor(number) == number && Math.Abs(number) < 9.2e18 && (whole = (long)number) == number))
        {
            return whole > maximum ? throw ApiException.InvalidField(name, $"at most {maximum} (got {value.GetRawText()})")
                : whole < minimum ? throw ApiException.InvalidField(name, $"at least {minimum} (got {value.GetRawText()})")
                : whole;
        }

        throw ApiException.InvalidField(name, $"expected an integer, got {value.GetRawText()}");
    }

    private static bool OptionalBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
        && (value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw ApiException.InvalidField(name, "expected true or false"));

    private static float OptionalFloat(JsonElement root, string name, float fallback, Func<float, bool> isValid, string expected)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out var number) && float.IsFinite(number) && isValid(number))
        {
            return number;
        }

        throw ApiException.InvalidField(name, $"expected {expected}, got {value.GetRawText()}");
    }
}
