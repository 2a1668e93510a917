using System.Net;
using System.Net.Sockets;

namespace KernelSharp.Cli.Tests.Serve;

/// <summary>
/// `kernelsharp serve` on the tiny bf16 fixture, run in-process on a free loopback port; disposing it stops the server
/// the way Ctrl-C does and checks that it exited with 130.
/// </summary>
internal sealed class RunningServer : IAsyncDisposable
{
    public const string ApiKey = "test-key";
    public const string ModelName = "tiny-dsa-bf16";

    private readonly CancellationTokenSource interrupt = new();
    private readonly StringWriter stderr = new();
    private readonly Task<int> exit;

    private RunningServer(int port, string[] extraArgs)
    {
        Address = new Uri($"http://127.0.0.1:{port}");
        string[] args = ["serve", "-m", Fixtures.TinyBf16, "--port", port.ToString(), "--device", "cpu", "--api-key", ApiKey, .. extraArgs];
        exit = Task.Factory.StartNew(
            () => Program.Run(args, new StringWriter(), TextWriter.Synchronized(stderr), new StringReader(string.Empty), interrupt.Token),
            TaskCreationOptions.LongRunning);
        Http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public Uri Address { get; }

    /// <summary>A client that sends the right API key.</summary>
    public HttpClient Http { get; }

    public static async Task<RunningServer> StartAsync(params string[] extraArgs)
    {
        var server = new RunningServer(FreePort(), extraArgs);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.False(server.exit.IsCompleted, $"serve exited early:\n{server.stderr}");
            Assert.True(DateTime.UtcNow < deadline, $"serve did not become healthy:\n{server.stderr}");
            try
            {
                using var health = await server.Http.GetAsync("/health");
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(20);
        }
    }

    /// <summary>The value of one metric in /metrics.</summary>
    public async Task<double> Metric(string name)
    {
        var text = await Http.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Ctrl-C: the server stops taking requests and drains (disposing then waits for it to exit).</summary>
    public void BeginShutdown() => interrupt.Cancel();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        interrupt.Cancel();
        var code = await exit.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 130, $"serve exited with {code}, expected 130:\n{stderr}");
        interrupt.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
