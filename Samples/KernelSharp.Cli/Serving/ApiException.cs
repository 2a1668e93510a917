namespace KernelSharp.Cli.Serving;

/// <summary>A request the server refuses, as the OpenAI error object and HTTP status it answers with.</summary>
/// <param name="Status">HTTP status: 400 invalid field, 401 key, 404 model/route, 413 too long, 429 queue full, 503 loading.</param>
/// <param name="Type">OpenAI's error type (invalid_request_error, authentication_error, ...).</param>
/// <param name="Param">The request field at fault, when one is.</param>
internal sealed class ApiException(int status, string type, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    /// <summary>The engine refused the request and has counted it already (the server's metric counts the rest).</summary>
    public bool CountedByEngine { get; init; }

    public static ApiException InvalidField(string field, string expected) =>
        new(400, "invalid_request_error", $"'{field}': {expected}", field);
}
