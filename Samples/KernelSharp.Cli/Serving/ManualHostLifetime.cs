using Microsoft.Extensions.Hosting;

namespace KernelSharp.Cli.Serving;

/// <summary>
/// Keeps ASP.NET Core from taking over Ctrl-C and SIGTERM: the serve verb handles them itself, so it can drain the
/// engine and exit with 130 like every other verb.
/// </summary>
internal sealed class ManualHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
