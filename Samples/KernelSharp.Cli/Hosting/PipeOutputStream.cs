namespace KernelSharp.Cli.Hosting;

/// <summary>
/// A write-only stream over a pipe (or socket) that turns a failed write into <see cref="OutputClosedException"/>: on a
/// pipe a write fails when its reader has closed it (EPIPE), which is the one thing a writer must act on by stopping.
/// </summary>
public sealed class PipeOutputStream(Stream pipe) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            pipe.Write(buffer);
        }
        catch (IOException closed) when (closed is not OutputClosedException)
        {
            throw new OutputClosedException(closed);
        }
    }

    public override void Flush()
    {
        try
        {
            pipe.Flush();
        }
        catch (IOException closed) when (closed is not OutputClosedException)
        {
            throw new OutputClosedException(closed);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            pipe.Dispose();
        }
        base.Dispose(disposing);
    }
}
