using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;

namespace KernelSharp.Runtime.Tests.Files;

/// <summary>The file-type probe every reader and writer relies on, on real nodes (links, pipes, devices).</summary>
public sealed class FileKindsTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [SkippableFact]
    public void Kinds_of_real_nodes_are_told_apart_and_links_are_followed()
    {
        Skip.IfNot(UnixNodes.Available, "needs mkfifo and /dev");
        string file = temp.File("regular");
        File.WriteAllText(file, "x");
        string fifo = UnixNodes.MakeFifo(temp.File("pipe"));
        string link = temp.File("link-to-pipe");
        File.CreateSymbolicLink(link, fifo);
        string dangling = temp.File("dangling");
        File.CreateSymbolicLink(dangling, temp.File("nowhere"));

        Assert.Equal(FileKind.Regular, FileKinds.Of(file));
        Assert.Equal(FileKind.Directory, FileKinds.Of(temp.Path));
        Assert.Equal(FileKind.Pipe, FileKinds.Of(fifo));
        Assert.Equal(FileKind.Pipe, FileKinds.Of(link));
        Assert.Equal(FileKind.Missing, FileKinds.Of(dangling));
        Assert.Equal(FileKind.Missing, FileKinds.Of(temp.File("absent")));
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of("/dev/null"));
    }

    [SkippableFact]
    public void An_open_descriptor_is_told_a_pipe_or_a_regular_file()
    {
        Skip.IfNot(UnixNodes.Available, "needs POSIX descriptors");
        string file = temp.File("regular");
        File.WriteAllText(file, "x");
        using Microsoft.Win32.SafeHandles.SafeFileHandle opened = File.OpenHandle(file);
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);

        Assert.Equal(FileKind.Regular, FileKinds.OfDescriptor((int)opened.DangerousGetHandle()));
        Assert.Equal(FileKind.Pipe, FileKinds.OfDescriptor((int)pipe.SafePipeHandle.DangerousGetHandle()));
        Assert.Equal(FileKind.Missing, FileKinds.OfDescriptor(-1));
    }

    [SkippableFact]
    public void A_dangling_link_is_told_apart_from_a_missing_path_and_from_a_link_to_something()
    {
        Skip.IfNot(UnixNodes.Available, "needs symbolic links");
        string nowhere = temp.File("nowhere");
        string dangling = temp.File("dangling");
        File.CreateSymbolicLink(dangling, nowhere);
        string link = temp.File("link");
        File.CreateSymbolicLink(link, temp.Path);

        Assert.Equal(nowhere, FileKinds.DanglingLinkTarget(dangling));
        Assert.Null(FileKinds.DanglingLinkTarget(link));
        Assert.Null(FileKinds.DanglingLinkTarget(temp.File("absent")));
        Assert.Equal($"{dangling}: is a dangling link to {nowhere}, which does not exist; expected the prompt file", InputFiles.NotFound(dangling, "prompt file"));
        Assert.Equal($"{nowhere}: prompt file not found", InputFiles.NotFound(nowhere, "prompt file"));
        var error = Assert.Throws<UserInputException>(() => InputFiles.RequireRegular(dangling, "model config", message => new UserInputException(message)));
        Assert.Equal($"{dangling}: is a dangling link to {nowhere}, which does not exist; expected the model config", error.Message);
    }

    [SkippableFact]
    public void Real_paths_resolve_links_in_every_component_including_missing_tails()
    {
        Skip.IfNot(UnixNodes.Available, "needs symbolic links");
        string real = temp.File("real");
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Combine(real, "weights"), "w");
        string link = temp.File("link");
        Directory.CreateSymbolicLink(link, real);
        string canonicalReal = RealPaths.Resolve(real);

        Assert.Equal(Path.Combine(canonicalReal, "weights"), RealPaths.Resolve(Path.Combine(link, "weights")));
        Assert.Equal(Path.Combine(canonicalReal, "new", "file"), RealPaths.Resolve(Path.Combine(link, "new", "file")));
        Assert.Equal(canonicalReal, RealPaths.Resolve(link + Path.DirectorySeparatorChar));
        Assert.True(RealPaths.IsInside(Path.Combine(canonicalReal, "weights"), canonicalReal));
        Assert.False(RealPaths.IsInside(canonicalReal + "-sibling", canonicalReal));
    }
}
