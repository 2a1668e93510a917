using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KernelSharp.Runtime.Model.Backend;

/// <summary>Receives one chunk of a weight's bytes and the chunk's offset (in bytes) from the weight's start.</summary>
public delegate void WeightChunkAction(ReadOnlySpan<byte> chunk, long offset);

/// <summary>
/// The stored bytes of a weight matrix, read in bounded chunks: a managed array, a tensor of a memory-mapped
/// checkpoint, or several of them one after another. Backends copy the chunks straight to where the weight lives
/// (the device), so no weight needs a managed array of its own size, and a weight's length is 64-bit throughout.
/// </summary>
public abstract class WeightBytes
{
    /// <summary>Total bytes.</summary>
    public abstract long Length { get; }

    /// <summary>Calls <paramref name="action"/> for consecutive chunks of at most <paramref name="maxChunkBytes"/> bytes covering every byte in order.</summary>
    public abstract void ReadChunks(int maxChunkBytes, WeightChunkAction action);

    /// <summary>A blittable array's bytes (bf16 bits as ushort[], e4m3 codes as byte[]).</summary>
    public static WeightBytes FromArray(Array values) => new ArrayWeightBytes(values);

    /// <summary><paramref name="parts"/> one after another.</summary>
    public static WeightBytes Concat(IReadOnlyList<WeightBytes> parts) => parts.Count == 1 ? parts[0] : new ConcatWeightBytes(parts);

    /// <summary>
    /// The pieces these bytes are made of, each with its byte offset: the bytes themselves, or a concatenation's parts
    /// (flattened). A backend that can produce some kind of piece in place (generated weights, on the device) looks at
    /// them one by one instead of reading the whole through <see cref="ReadChunks"/>.
    /// </summary>
    internal virtual IEnumerable<(WeightBytes Part, long Offset)> Parts()
    {
        yield return (this, 0);
    }

    /// <summary>
    /// The bytes as a managed array of <typeparamref name="T"/> (for the CPU backend, which widens weights to fp32 anyway);
    /// a weight longer than one array can hold is a clear error.
    /// </summary>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (Length % size != 0 || Length / size > Array.MaxLength)
        {
            throw new InvalidOperationException($"a weight of {Length} bytes does not fit one managed array of {typeof(T).Name} (at most {Array.MaxLength} elements)");
        }

        var result = new T[Length / size];
        ReadChunks(1 << 26, (chunk, offset) => chunk.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()).Slice(checked((int)offset))));
        return result;
    }

    /// <summary>
    /// The bytes' address in a memory-mapped checkpoint when they are one contiguous range of it (a tensor, or tensors
    /// stored one after another), else 0: a backend whose weights live in host memory reads them there, with no copy
    /// (the mapped pages are the file's page cache, shared and evictable, not memory of the process's own).
    /// </summary>
    internal virtual nint MappedAddress => 0;

    /// <summary>Keeps the mapping behind <see cref="MappedAddress"/> valid until the result is disposed (after the checkpoint closes too).</summary>
    internal virtual IDisposable KeepMapped() => throw new InvalidOperationException("these weight bytes are not memory-mapped");

    /// <summary>
    /// The managed array behind these bytes when they are exactly one <typeparamref name="T"/>[] (<see cref="FromArray"/>),
    /// else null: a backend that keeps host arrays takes it over instead of copying it, as it does an array passed to
    /// <see cref="IModelBackend.Upload(float[], int, int)"/>.
    /// </summary>
    internal virtual T[]? BackingArray<T>()
        where T : unmanaged => null;

    /// <summary>Calls <paramref name="action"/> for chunks of [start, start + length) of <paramref name="source"/>, offsets counted from <paramref name="baseOffset"/>.</summary>
    private protected static unsafe void ReadPointerChunks(byte* source, long length, long baseOffset, int maxChunkBytes, WeightChunkAction action)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunkBytes, 1);
        for (long done = 0; done < length; done += maxChunkBytes)
        {
            var count = (int)Math.Min(maxChunkBytes, length - done);
            action(new ReadOnlySpan<byte>(source + done, count), baseOffset + done);
        }
    }

    private sealed class ArrayWeightBytes : WeightBytes
    {
        private readonly Array values;

        public ArrayWeightBytes(Array values)
        {
            var type = values.GetType().GetElementType();
            if (values.Rank != 1 || type is null || !type.IsPrimitive)
            {
                throw new ArgumentException($"weight values must be a one-dimensional array of a primitive type, not {values.GetType().Name}", nameof(values));
            }

            this.values = values;
            Length = values.LongLength * Marshal.SizeOf(type);
        }

        public override long Length { get; }

        internal override T[]? BackingArray<T>() => values as T[];

        public override unsafe void ReadChunks(int maxChunkBytes, WeightChunkAction action)
        {
            // Pinned for the whole read: a device copy from the span must not see the array move.
            var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
            try
            {
                ReadPointerChunks((byte*)handle.AddrOfPinnedObject(), Length, 0, maxChunkBytes, action);
            }
            finally
            {
                handle.Free();
            }
        }
    }

    private sealed class ConcatWeightBytes(IReadOnlyList<WeightBytes> parts) : WeightBytes
    {
        public override long Length { get; } = parts.Sum(p => p.Length);

        internal override IEnumerable<(WeightBytes Part, long Offset)> Parts()
        {
            long start = 0;
            foreach (var part in parts)
            {
                foreach (var (piece, offset) in part.Parts())
                {
                    yield return (piece, start + offset);
                }

                start += part.Length;
            }
        }

        /// <summary>The first part's address when every part is mapped and each starts where the one before ends.</summary>
        internal override nint MappedAddress
        {
            get
            {
                nint first = parts.Count == 0 ? 0 : parts[0].MappedAddress;
                nint next = first;
                foreach (var part in parts)
                {
                    if (next == 0 || part.MappedAddress != next)
                    {
                        return 0;
                    }

                    next += (nint)part.Length;
                }

                return first;
            }
        }

        internal override IDisposable KeepMapped() => new Leases([.. parts.Select(p => p.KeepMapped())]);

        public override void ReadChunks(int maxChunkBytes, WeightChunkAction action)
        {
            long start = 0;
            foreach (var part in parts)
            {
                var partStart = start;
                part.ReadChunks(maxChunkBytes, (chunk, offset) => action(chunk, partStart + offset));
                start += part.Length;
            }
        }
    }

    private sealed class Leases(IDisposable[] leases) : IDisposable
    {
        public void Dispose()
        {
            foreach (var lease in leases)
            {
                lease.Dispose();
            }
        }
    }
}
