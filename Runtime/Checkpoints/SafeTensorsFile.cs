using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace KernelSharp.Runtime;

/// <summary>
/// One safetensors file, validated (see <see cref="SafeTensorsHeader"/>) and memory-mapped read-only, so that tensors
/// are read straight from the page cache with 64-bit offsets (shards are ~4 GB). Spans and pointers it hands out are
/// valid until <see cref="Dispose"/>.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    private readonly MemoryMappedFile? map;
    private readonly MemoryMappedViewAccessor? view;
    private readonly byte* basePointer;
    private readonly Dictionary<string, TensorInfo> tensorsByName;
    private bool disposed;

    private SafeTensorsFile(string path, SafeTensorsHeader header, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePointer)
    {
        Path = path;
        Header = header;
        this.map = map;
        this.view = view;
        this.basePointer = basePointer;
        tensorsByName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    public SafeTensorsHeader Header { get; }

    public IReadOnlyCollection<string> TensorNames => tensorsByName.Keys;

    public bool Contains(string name) => tensorsByName.ContainsKey(name);

    public bool TryGetInfo(string name, out TensorInfo info) => tensorsByName.TryGetValue(name, out info!);

    public TensorInfo GetInfo(string name) =>
        tensorsByName.TryGetValue(name, out TensorInfo? info) ? info : throw new CheckpointException($"{Path}: no tensor '{name}' in this file");

    /// <summary>Opens and validates <paramref name="path"/>; any problem is a <see cref="CheckpointException"/> naming it.</summary>
    public static SafeTensorsFile Open(string path)
    {
        FileStream stream = OpenStream(path);
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8)
            {
                throw SafeTensorsHeader.Fail(path, $"the file is {fileLength} bytes; a safetensors file starts with an 8-byte header length");
            }

            Span<byte> prefix = stackalloc byte[8];
            RandomAccess.Read(stream.SafeFileHandle, prefix, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
            {
                throw SafeTensorsHeader.Fail(path, $"header length {headerLength} is over the {SafeTensorsHeader.MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");
            }

            if ((long)headerLength > fileLength - 8)
            {
                throw SafeTensorsHeader.Fail(path, $"header length {headerLength} runs past the end of the file ({fileLength} bytes); is the file truncated?");
            }

            var headerBytes = new byte[headerLength];
            ReadExactly(stream, headerBytes, 8, path);
            SafeTensorsHeader header = SafeTensorsHeader.Parse(headerBytes, fileLength, path);

            // The data section may be empty (a file of empty tensors): nothing to map then.
            if (fileLength == 8 + (long)headerLength)
            {
                stream.Dispose();
                return new SafeTensorsFile(path, header, null, null, null);
            }

            MemoryMappedFile map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            MemoryMappedViewAccessor view;
            try
            {
                view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            }
            catch
            {
                map.Dispose();
                throw;
            }

            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new SafeTensorsFile(path, header, map, view, pointer + view.PointerOffset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new CheckpointException($"{path}: cannot read the file ({e.Message})", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The stored bytes of a tensor (at most 2 GB; use <see cref="GetPointer"/> beyond that).</summary>
    public ReadOnlySpan<byte> GetRawBytes(TensorInfo tensor)
    {
        if (tensor.ByteLength > int.MaxValue)
        {
            throw new CheckpointException($"{Path}: tensor '{tensor.Name}' is {tensor.ByteLength} bytes, too large for one span (2 GB); read it in parts");
        }

        return new ReadOnlySpan<byte>(GetPointer(tensor), (int)tensor.ByteLength);
    }

    /// <summary>Address of a tensor's first byte in the mapping (unaligned in general).</summary>
    public byte* GetPointer(TensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!ReferenceEquals(tensorsByName.GetValueOrDefault(tensor.Name), tensor))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to {Path}", nameof(tensor));
        }

        // Empty tensors of an empty data section have no mapping; any non-null address with length 0 will do.
        return basePointer == null ? (byte*)1 : basePointer + tensor.DataOffset;
    }

    /// <summary>
    /// Keeps the mapping alive until the returned lease is disposed, even past <see cref="Dispose"/>: a host backend
    /// that reads weights in place holds one per weight, so the checkpoint can be closed once loading ends.
    /// </summary>
    internal IDisposable KeepMapped()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (view is null)
        {
            return MappingLease.None;
        }

        // The view handle unmaps only when its last reference goes, so Dispose above leaves a leased mapping in place.
        var handle = view.SafeMemoryMappedViewHandle;
        bool added = false;
        handle.DangerousAddRef(ref added);
        return new MappingLease(handle);
    }

    private sealed class MappingLease(System.Runtime.InteropServices.SafeHandle? handle) : IDisposable
    {
        public static readonly MappingLease None = new(null);

        private int released;

        public void Dispose()
        {
            if (handle is not null && Interlocked.Exchange(ref released, 1) == 0)
            {
                handle.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
        }

        map?.Dispose();
    }

    private static FileStream OpenStream(string path)
    {
        // Before open: a named pipe would block open() forever, and a device has no end to map.
        InputFiles.RequireRegular(path, "safetensors file", message => new CheckpointException(message));
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot open the file ({e.Message})", e);
        }
    }

    private static void ReadExactly(FileStream stream, byte[] buffer, long fileOffset, string path)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int read = RandomAccess.Read(stream.SafeFileHandle, buffer.AsSpan(done), fileOffset + done);
            if (read == 0)
            {
                throw SafeTensorsHeader.Fail(path, "the file ended while reading the header");
            }

            done += read;
        }
    }
}
