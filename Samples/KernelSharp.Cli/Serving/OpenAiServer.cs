using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KernelSharp.Cli.Serving;

/// <summary>
/// The OpenAI-compatible HTTP server on ASP.NET Core (Kestrel). It starts before the model loads (everything under /v1
/// answers 503 until <see cref="Ready"/>), checks the API key, caps bodies and slow clients, and hands each request to
/// <see cref="OpenAiEndpoints"/>, which only translates between JSON and engine calls.
/// </summary>
internal sealed class OpenAiServer : IAsyncDisposable
{
    /// <summary>Largest request body accepted (a 413 beyond); prompts this long are far over any context anyway.</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    private readonly WebApplication app;
    private readonly byte[]? apiKey;
    private readonly PrometheusText prometheus = new();
    private readonly Action<string> log;
    private volatile ServerState? state;
    private long refused;

    private OpenAiServer(WebApplication app, string modelName, string? apiKey, Action<string> log)
    {
        this.app = app;
        ModelName = modelName;
        this.apiKey = apiKey is null ? null : Encoding.UTF8.GetBytes(apiKey);
        this.log = log;
    }

    /// <summary>The routes and the methods each answers: a known route asked with another method is a 405, not a 404.</summary>
    private static readonly Dictionary<string, string> Routes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["/health"] = "GET, HEAD",
        ["/metrics"] = "GET, HEAD",
        ["/v1/models"] = "GET, HEAD",
        ["/v1/chat/completions"] = "POST",
        ["/v1/completions"] = "POST",
    };

    /// <summary>The model id clients send and /v1/models lists (the model folder's name).</summary>
    public string ModelName { get; }

    /// <summary>Where the server listens, e.g. http://127.0.0.1:8080.</summary>
    public string Address => app.Urls.First();

    public ServerState? State => state;

    /// <param name="log">Where a request's server-side failure (a 500) is reported, one line each.</param>
    public static async Task<OpenAiServer> StartAsync(string host, int port, string modelName, string? apiKey, Action<string> log)
    {
        if (apiKey is not null && !IsSendableApiKey(apiKey))
        {
            throw new ArgumentException("the API key must be non-empty and have no leading or trailing spaces (clients could never send it)", nameof(apiKey));
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // the verb reports on stderr itself; request logs would drown it
        builder.Services.AddSingleton<IHostLifetime, ManualHostLifetime>();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(15);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
            // a client that sends its body slower than this is dropped instead of holding a connection forever
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        });
        builder.WebHost.UseUrls($"http://{(IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host)}:{port}");

        var app = builder.Build();
        var server = new OpenAiServer(app, modelName, apiKey, log);
        server.Map(app);
        await app.StartAsync();
        return server;
    }

    /// <summary>Whether a client could send <paramref name="key"/> in an Authorization header: non-empty, no surrounding spaces.</summary>
    public static bool IsSendableApiKey(string key) => key.Length > 0 && key.Trim().Length == key.Length;

    /// <summary>The model is loaded: /v1 starts answering.</summary>
    public void Ready(ServerState loaded) => state = loaded;

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(TimeSpan.FromSeconds(5));
        await app.DisposeAsync();
    }

    private void Map(WebApplication web)
    {
        web.Use(async (context, next) =>
        {
            try
            {
                if (context.Request.Path.StartsWithSegments("/v1") && !Authorized(context.Request))
                {
                    throw new ApiException(401, "authentication_error", "invalid API key: send 'Authorization: Bearer <key>' with the key given to --api-key");
                }

                await next(context);
            }
            catch (ApiException error)
            {
                await Refuse(context, error);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException error)
            {
                var status = error.StatusCode is 413 or 408 ? error.StatusCode : 400;
                await Refuse(context, new ApiException(status, "invalid_request_error", status switch
                {
                    413 => $"the request body is larger than {MaxBodyBytes / (1024 * 1024)} MiB",
                    408 => "the request body arrived too slowly: " + error.Message,
                    _ => "the request could not be read: " + error.Message,
                }));
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // the client went away; its sequence was cancelled with the request
            }
            catch (Exception error)
            {
                // a failure inside the model ends this request only; the server keeps serving the others
                log($"error: {context.Request.Method} {context.Request.Path} failed: {error.GetType().Name}: {error.GetBaseException().Message}");
                await WriteError(context, new ApiException(500, "server_error", "the model failed on this request: " + error.GetBaseException().Message));
            }
        });

        var endpoints = new OpenAiEndpoints(this);
        string[] get = ["GET", "HEAD"];
        web.MapMethods("/health", get, (HttpContext context) =>
        {
            // a load balancer stops sending traffic on anything but 200: while loading, and once draining after Ctrl-C/SIGTERM
            var status = state is null ? "loading" : state.Engine.IsAccepting ? "ok" : "draining";
            if (status != "ok")
            {
                context.Response.Headers.RetryAfter = "1";
            }

            return WriteJson(context, status == "ok" ? 200 : 503, new { status });
        });
        web.MapMethods("/metrics", get, (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(prometheus.Render(state?.Engine.Metrics, Interlocked.Read(ref refused)));
        });
        web.MapMethods("/v1/models", get, (HttpContext context) => WriteJson(context, 200, new { @object = "list", data = new[] { ModelObject() } }));
        web.MapMethods("/v1/models/{id}", get, (HttpContext context, string id) => id == ModelName
            ? WriteJson(context, 200, ModelObject())
            : throw new ApiException(404, "invalid_request_error", $"the model '{id}' does not exist; this server serves '{ModelName}'", "model"));
        web.MapPost("/v1/chat/completions", (HttpContext context) => endpoints.Complete(context, chat: true));
        web.MapPost("/v1/completions", (HttpContext context) => endpoints.Complete(context, chat: false));
        web.MapFallback((HttpContext context) =>
        {
            if (Routes.TryGetValue(context.Request.Path.Value?.TrimEnd('/') ?? string.Empty, out var allowed))
            {
                context.Response.Headers.Allow = allowed;
                throw new ApiException(405, "invalid_request_error", $"{context.Request.Path} answers {allowed}, not {context.Request.Method}");
            }

            throw new ApiException(404, "invalid_request_error", $"no route {context.Request.Method} {context.Request.Path}; the server answers /v1/chat/completions, /v1/completions, /v1/models, /health and /metrics");
        });
    }

    private object ModelObject() => new { id = ModelName, @object = "model", created = 0, owned_by = "kernelsharp" };

    /// <summary>Answers a refused request, counting it for /metrics unless the engine did.</summary>
    private Task Refuse(HttpContext context, ApiException error)
    {
        if (!error.CountedByEngine && context.Request.Path.StartsWithSegments("/v1"))
        {
            Interlocked.Increment(ref refused);
        }

        return WriteError(context, error);
    }

    private bool Authorized(HttpRequest request)
    {
        if (apiKey is null)
        {
            return true;
        }

        var header = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        return header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Bearer.Length..].Trim()), apiKey);
    }

    public static Task WriteJson(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(body)).AsTask();
    }

    private static Task WriteError(HttpContext context, ApiException error)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask; // mid-stream: the status line is gone; the stream just ends
        }

        switch (error.Status)
        {
            case 401:
                context.Response.Headers.WWWAuthenticate = "Bearer";
                break;
            case 429 or 503:
                context.Response.Headers.RetryAfter = "1"; // seconds: a slot or the model is usually ready by then
                break;
        }

        return WriteJson(context, error.Status, new { error = new { message = error.Message, type = error.Type, param = error.Param, code = (string?)null } });
    }
}
