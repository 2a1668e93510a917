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

        return new CompletionBody(
            OptionalString(root, "model"),
            chat ? ReadMessages(root) : null,
            chat ? null : PromptText(root),
            ReadMaxTokens(root),
            OptionalFloat(root, "temperature", 1f, t => t is >= 0f and <= 2f, "a number from 0 to 2"),
            OptionalFloat(root, "top_p", 1f, p => p is > 0f and <= 1f, "a number in (0, 1]"),
            OptionalInt(root, "seed"),
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

            var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
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
            return content.GetString()!;
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

                parts.Add(text.GetString()!);
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
                return prompt.GetString()!;
            }

            if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            {
                return prompt[0].GetString()!;
            }
        }

        throw ApiException.InvalidField("prompt", "a string (or an array holding one string) is required");
    }

    private static int? ReadMaxTokens(JsonElement root)
    {
        var value = OptionalInt(root, "max_completion_tokens") ?? OptionalInt(root, "max_tokens");
        if (value is < 1)
        {
            throw ApiException.InvalidField("max_tokens", $"must be at least 1 (got {value})");
        }

        return value;
    }

    private static IReadOnlyList<string> StopSequences(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return [stop.GetString()!];
        }

        if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() <= MaxStopSequences
            && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
        {
            return stop.EnumerateArray().Select(s => s.GetString()!).ToArray();
        }

        throw ApiException.InvalidField("stop", $"expected a string or an array of at most {MaxStopSequences} strings");
    }

    private static string? OptionalString(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw ApiException.InvalidField(name, "expected a string");

    private static int? OptionalInt(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number
        : throw ApiException.InvalidField(name, "expected an integer");

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
