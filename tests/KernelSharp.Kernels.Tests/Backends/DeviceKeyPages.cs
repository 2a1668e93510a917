using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// A host <see cref="KeyPagesReference"/> uploaded to a test's accelerator: <see cref="Pages"/> is the
/// <see cref="KeyPages"/> a kernel takes (unpaged when the host one is); disposing frees its buffers.
/// </summary>
public sealed class DeviceKeyPages : IDisposable
{
    private readonly MemoryBuffer1D<int, Stride1D.Dense> positions;
    private readonly MemoryBuffer1D<int, Stride1D.Dense>? tableStarts;
    private readonly MemoryBuffer1D<int, Stride1D.Dense>? blockTable;

    public DeviceKeyPages(Accelerator accelerator, KeyPagesReference host)
    {
        positions = UploadInts(accelerator, host.Positions);
        if (host.BlockSize == 0)
        {
            Pages = KeyPages.Contiguous(positions.View.SubView(0, host.Positions.Length).AsContiguous());
            return;
        }
        tableStarts = UploadInts(accelerator, host.TableStarts);
        blockTable = UploadInts(accelerator, host.BlockTable);
        Pages = new KeyPages(positions.View.SubView(0, host.Positions.Length).AsContiguous(),
            tableStarts.View.SubView(0, host.TableStarts.Length).AsContiguous(),
            blockTable.View.SubView(0, host.BlockTable.Length).AsContiguous(), host.BlockSize);
    }

    public KeyPages Pages { get; }

    public void Dispose()
    {
        positions.Dispose();
        tableStarts?.Dispose();
        blockTable?.Dispose();
    }

    private static MemoryBuffer1D<int, Stride1D.Dense> UploadInts(Accelerator accelerator, int[] host)
    {
        // ILGPU refuses zero-length buffers on some backends: keep at least one element.
        var buffer = accelerator.Allocate1D<int>(Math.Max(1, host.Length));
        if (host.Length > 0)
            buffer.View.SubView(0, host.Length).CopyFromCPU(host);
        return buffer;
    }
}
