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
    private volatile ServerState? state;

    private OpenAiServer(WebApplication app, string modelName, string? apiKey)
    {
        this.app = app;
        ModelName = modelName;
        this.apiKey = apiKey is null ? null : Encoding.UTF8.GetBytes(apiKey);
    }

    /// <summary>The model id clients send and /v1/models lists (the model folder's name).</summary>
    public string ModelName { get; }

    /// <summary>Where the server listens, e.g. http://127.0.0.1:8080.</summary>
    public string Address => app.Urls.First();

    public ServerState? State => state;

    public static async Task<OpenAiServer> StartAsync(string host, int port, string modelName, string? apiKey)
    {
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
        var server = new OpenAiServer(app, modelName, apiKey);
        server.Map(app);
        await app.StartAsync();
        return server;
    }

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
                await WriteError(context, error);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException error)
            {
                var status = error.StatusCode == 413 ? 413 : 400;
                await WriteError(context, new ApiException(status, "invalid_request_error",
                    status == 413 ? $"the request body is larger than {MaxBodyBytes / (1024 * 1024)} MiB" : "the request could not be read: " + error.Message));
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // the client went away; its sequence was cancelled with the request
            }
            catch (Exception error)
            {
                // a failure inside the model ends this request only; the server keeps serving the others
                await WriteError(context, new ApiException(500, "server_error", "the model failed on this request: " + error.GetBaseException().Message));
            }
        });

        var endpoints = new OpenAiEndpoints(this);
        web.MapGet("/health", (HttpContext context) => WriteJson(context, state is null ? 503 : 200, new { status = state is null ? "loading" : "ok" }));
        web.MapGet("/metrics", (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(prometheus.Render(state?.Engine.Metrics));
        });
        web.MapGet("/v1/models", (HttpContext context) => WriteJson(context, 200, new
        {
            @object = "list",
            data = new[] { new { id = ModelName, @object = "model", created = 0, owned_by = "kernelsharp" } },
        }));
        web.MapPost("/v1/chat/completions", (HttpContext context) => endpoints.Complete(context, chat: true));
        web.MapPost("/v1/completions", (HttpContext context) => endpoints.Complete(context, chat: false));
        web.MapFallback((HttpContext context) =>
            throw new ApiException(404, "invalid_request_error", $"no route {context.Request.Method} {context.Request.Path}; the server answers /v1/chat/completions, /v1/completions, /v1/models, /health and /metrics"));
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

        return WriteJson(context, error.Status, new { error = new { message = error.Message, type = error.Type, param = error.Param, code = (string?)null } });
    }
}
