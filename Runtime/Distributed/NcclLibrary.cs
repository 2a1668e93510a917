using System.Runtime.InteropServices;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// NVIDIA's collective library (<c>libnccl.so.2</c>), found at run time and bound through function pointers: the
/// path in <c>KERNELSHARP_NCCL</c>, else the system's library path, else the NCCL that ships inside PyTorch's wheels
/// (<c>site-packages/nvidia/nccl/lib</c>), which is how most GPU machines have it. Nothing here runs without it:
/// <see cref="TryLoad"/> says where it looked.
/// </summary>
public sealed unsafe class NcclLibrary
{
    /// <summary>ncclDataType_t and ncclRedOp_t values used here (nccl.h).</summary>
    internal const int Float32 = 7;
    internal const int Sum = 0;

    private static readonly Lazy<(NcclLibrary? Library, string Problem)> shared = new(Search);

    private readonly delegate* unmanaged<int, nint> getErrorString;

    private NcclLibrary(nint handle, string path)
    {
        Path = path;
        getErrorString = (delegate* unmanaged<int, nint>)NativeLibrary.GetExport(handle, "ncclGetErrorString");
        GetVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(handle, "ncclGetVersion");
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)NativeLibrary.GetExport(handle, "ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)NativeLibrary.GetExport(handle, "ncclCommInitRank");
        CommAbort = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(handle, "ncclCommAbort");
        CommDestroy = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(handle, "ncclCommDestroy");
        AllReduce = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)NativeLibrary.GetExport(handle, "ncclAllReduce");
        AllGather = (delegate* unmanaged<nint, nint, nuint, int, nint, nint, int>)NativeLibrary.GetExport(handle, "ncclAllGather");
        int version;
        Check(GetVersion(&version), "ncclGetVersion");
        Version = version;
    }

    /// <summary>Where the library was loaded from.</summary>
    public string Path { get; }

    /// <summary>NCCL's version code, e.g. 22703 for 2.27.3.</summary>
    public int Version { get; }

    /// <summary>"2.27.3".</summary>
    public string VersionText => Version >= 10000
        ? $"{Version / 10000}.{Version / 100 % 100}.{Version % 100}"
        : $"{Version / 1000}.{Version / 100 % 10}.{Version % 100}";

    internal delegate* unmanaged<int*, int> GetVersion { get; }

    internal delegate* unmanaged<NcclUniqueId*, int> GetUniqueId { get; }

    internal delegate* unmanaged<nint*, int, NcclUniqueId, int, int> CommInitRank { get; }

    internal delegate* unmanaged<nint, int> CommAbort { get; }

    internal delegate* unmanaged<nint, int> CommDestroy { get; }

    internal delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> AllReduce { get; }

    internal delegate* unmanaged<nint, nint, nuint, int, nint, nint, int> AllGather { get; }

    /// <summary>The process's NCCL, or null with the places searched in <paramref name="problem"/>.</summary>
    public static NcclLibrary? TryLoad(out string problem)
    {
        (var library, problem) = shared.Value;
        return library;
    }

    /// <summary>The process's NCCL; a <see cref="UserInputException"/> naming the places searched when there is none.</summary>
    public static NcclLibrary Require() =>
        TryLoad(out var problem) ?? throw new UserInputException(problem);

    internal void Check(int result, string call)
    {
        if (result != 0)
        {
            var text = Marshal.PtrToStringUTF8(getErrorString(result)) ?? "unknown error";
            throw new InvalidOperationException($"NCCL: {call} failed with error {result} ({text})");
        }
    }

    /// <summary>Candidate paths in search order (the first that loads wins).</summary>
    internal static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("KERNELSHARP_NCCL") is { Length: > 0 } configured)
        {
            yield return configured;
        }

        yield return "libnccl.so.2";
        foreach (var sitePackages in PythonSitePackages())
        {
            yield return System.IO.Path.Combine(sitePackages, "nvidia", "nccl", "lib", "libnccl.so.2");
        }
    }

    /// <summary>The usual homes of Python packages: virtual environments, conda, system and user installs.</summary>
    private static IEnumerable<string> PythonSitePackages()
    {
        var roots = new List<string>();
        foreach (var variable in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } prefix)
            {
                roots.Add(System.IO.Path.Combine(prefix, "lib"));
            }
        }

        roots.AddRange(["/usr/local/lib", "/usr/lib", "/opt/conda/lib"]);
        if (Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home)
        {
            roots.Add(System.IO.Path.Combine(home, ".local", "lib"));
        }

        foreach (var root in roots.Where(Directory.Exists))
        {
            string[] pythons;
            try
            {
                pythons = Directory.GetDirectories(root, "python3*");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var python in pythons.OrderDescending(StringComparer.Ordinal))
            {
                yield return System.IO.Path.Combine(python, "site-packages");
                yield return System.IO.Path.Combine(python, "dist-packages");
            }
        }
    }

    /// <summary>Loads the first candidate that is a usable NCCL (uncached: <see cref="TryLoad"/> keeps the process's answer).</summary>
    internal static (NcclLibrary? Library, string Problem) Search()
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates().Distinct())
        {
            if (candidate.Contains('/') && !File.Exists(candidate))
            {
                continue;
            }

            tried.Add(candidate);
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                try
                {
                    return (new NcclLibrary(handle, candidate.Contains('/') ? candidate : "system library path (" + candidate + ")"), string.Empty);
                }
                catch (Exception e) when (e is EntryPointNotFoundException or InvalidOperationException)
                {
                    tried[^1] += $" (loaded, but not a usable NCCL: {e.Message})";
                }
            }
        }

        return (null, "NCCL (libnccl.so.2) was not found: tried " + string.Join(", ", tried) +
            " and PyTorch's site-packages/nvidia/nccl/lib; install NCCL or PyTorch with CUDA, or set KERNELSHARP_NCCL to the library's path");
    }
}

/// <summary>ncclUniqueId: 128 opaque bytes that name one group; every rank of the group joins with the same value.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
internal unsafe struct NcclUniqueId
{
    private fixed byte bytes[128];
}
