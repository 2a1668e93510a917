namespace KernelSharp.Chat;

/// <summary>Disposes several objects in the given order (the engine, which frees its caches, before the model that owns the device memory).</summary>
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
