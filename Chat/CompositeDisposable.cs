namespace KernelSharp.Chat;

/// <summary>Disposes several objects in the given order (a session before the model that owns its device memory).</summary>
internal sealed class CompositeDisposable(params IDisposable[] items) : IDisposable
{
    public void Dispose()
    {
        foreach (IDisposable item in items)
        {
            item.Dispose();
        }
    }
}
