using System.Text;
using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;

namespace KernelSharp.Runtime.Tests.Files;

/// <summary>An output never lands on an input (whatever links spell it), never replaces a pipe or a device node, and is
/// either the complete new file or the old one.</summary>
public sealed class SafeOutputFileTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [SkippableFact]
    public void Outputs_that_resolve_onto_a_model_file_through_links_are_refused_and_the_model_is_untouched()
    {
        Skip.IfNot(UnixNodes.Available, "needs symbolic links");
        string model = temp.CopyOf(CheckpointTestFiles.TinyBf16);
        string linkToModel = temp.File("model-link");
        Directory.CreateSymbolicLink(linkToModel, model);
        // Hugging Face cache style: the folder holds links into a blobs folder.
        string blobs = temp.File("blobs");
        Directory.CreateDirectory(blobs);
        string snapshot = temp.File("snapshot");
        Directory.CreateDirectory(snapshot);
        File.Copy(Path.Combine(model, "config.json"), Path.Combine(blobs, "abc123"));
        File.CreateSymbolicLink(Path.Combine(snapshot, "config.json"), Path.Combine(blobs, "abc123"));
        byte[] weights = File.ReadAllBytes(Path.Combine(model, "model.safetensors"));
        byte[] blob = File.ReadAllBytes(Path.Combine(blobs, "abc123"));

        string[] outputs =
        [
            Path.Combine(model, "model.safetensors"),
            Path.Combine(linkToModel, "model.safetensors"),
            Path.Combine(linkToModel, "new-file"),
        ];
        foreach ((string output, string modelFolder) in outputs.Select(o => (o, linkToModel)).Append((Path.Combine(blobs, "abc123"), snapshot)))
        {
            var inputs = new ProtectedInputs().AddModelFolder(modelFolder);
            Assert.Throws<OutputOverlapsInputException>(() => SafeOutputFile.Write(output, "-o", inputs, s => s.Write(new byte[4096])));
        }

        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(model, "model.safetensors")));
        Assert.Equal(blob, File.ReadAllBytes(Path.Combine(blobs, "abc123")));
    }

    [SkippableFact]
    public void A_named_pipe_is_written_into_and_stays_a_pipe()
    {
        Skip.IfNot(UnixNodes.Available, "needs mkfifo");
        string fifo = UnixNodes.MakeFifo(temp.File("out.fifo"));
        Task<byte[]> reader = UnixNodes.DrainAsync(fifo);
        SafeOutputFile.Write(fifo, "-o", new ProtectedInputs(), s => s.Write("through the pipe"u8));
        Assert.True(reader.Wait(TimeSpan.FromSeconds(20)));
        Assert.Equal("through the pipe", Encoding.UTF8.GetString(reader.Result));
        Assert.Equal(FileKind.Pipe, FileKinds.Of(fifo));
        Assert.Empty(Directory.GetFiles(temp.Path, "*partial*"));
    }

    [SkippableFact]
    public void A_character_device_is_written_into_and_never_replaced()
    {
        Skip.IfNot(File.Exists("/dev/null"), "needs /dev/null");
        SafeOutputFile.Write("/dev/null", "-o", new ProtectedInputs(), s => s.Write(new byte[1 << 16]));
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of("/dev/null"));
        Assert.Empty(Directory.GetFiles("/dev", ".null.partial-*"));
    }

    [SkippableFact]
    public void A_link_given_as_the_output_stays_a_link_and_its_target_gets_the_new_content()
    {
        Skip.IfNot(UnixNodes.Available, "needs symbolic links");
        string target = temp.File("target.bin");
        File.WriteAllText(target, "old");
        string link = temp.File("out.bin");
        File.CreateSymbolicLink(link, target);
        var refused = Assert.Throws<UserInputException>(() => SafeOutputFile.Write(link, "-o", new ProtectedInputs(), s => s.Write("new"u8)));
        Assert.Contains("--force", refused.Message);
        Assert.Equal("old", File.ReadAllText(target)); // the user's file behind the link is untouched without --force

        SafeOutputFile.Write(link, "-o", new ProtectedInputs(), s => s.Write("new"u8), replaceExisting: true);
        Assert.Equal("new", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(link).LinkTarget);
    }

    [Fact]
    public void An_existing_file_is_replaced_only_when_asked()
    {
        string output = temp.File("user.txt");
        File.WriteAllText(output, "the user's notes");
        Assert.Contains("a file exists there", Assert.Throws<UserInputException>(() => SafeOutputFile.Check(output, "-o", new ProtectedInputs())).Message);
        Assert.Throws<UserInputException>(() => SafeOutputFile.Write(output, "-o", new ProtectedInputs(), s => s.Write("logits"u8)));
        Assert.Equal("the user's notes", File.ReadAllText(output));

        SafeOutputFile.Write(output, "-o", new ProtectedInputs(), s => s.Write("logits"u8), replaceExisting: true);
        Assert.Equal("logits", File.ReadAllText(output));
    }

    [SkippableFact]
    public void Waiting_for_a_reader_of_a_fifo_ends_on_cancellation()
    {
        Skip.IfNot(UnixNodes.Available, "needs mkfifo");
        string fifo = temp.File("nobody-reads");
        UnixNodes.MakeFifo(fifo);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = DateTime.UtcNow;
        Assert.ThrowsAny<OperationCanceledException>(() => SafeOutputFile.Write(fifo, "-o", new ProtectedInputs(), s => s.Write("x"u8), cancel.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        using (File.OpenRead(fifo))
        {
            // a reader at last: the abandoned open on the pool thread completes instead of waiting for the process's end
        }
    }

    [Fact]
    public void A_failed_write_keeps_the_old_file_and_leaves_no_partial()
    {
        string output = temp.File("logits.safetensors");
        File.WriteAllText(output, "previous result");
        Assert.Throws<InvalidOperationException>(() => SafeOutputFile.Write(output, "-o", new ProtectedInputs(), s =>
        {
            s.Write(new byte[100]);
            throw new InvalidOperationException("the computation failed half way");
        }, replaceExisting: true));
        Assert.Equal("previous result", File.ReadAllText(output));
        Assert.Single(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Folders_and_trailing_separators_are_refused()
    {
        Assert.Contains("ends with a separator", Assert.Throws<UserInputException>(
            () => SafeOutputFile.Write(temp.Path + Path.DirectorySeparatorChar, "-o", new ProtectedInputs(), _ => { })).Message);
        Assert.Contains("is a folder", Assert.Throws<UserInputException>(
            () => SafeOutputFile.Write(temp.Path, "-o", new ProtectedInputs(), _ => { })).Message);
    }

    [Fact]
    public void A_no_replace_rename_never_replaces_an_existing_file_or_folder()
    {
        string source = temp.File("source");
        File.WriteAllText(source, "new");
        string file = temp.File("existing-file");
        File.WriteAllText(file, "mine");
        string emptyFolder = temp.File("empty-folder");
        Directory.CreateDirectory(emptyFolder);

        Assert.False(NoReplaceRename.TryMove(source, file));
        Assert.False(NoReplaceRename.TryMove(source, emptyFolder));
        Assert.Equal("mine", File.ReadAllText(file));
        Assert.True(Directory.Exists(emptyFolder));
        Assert.True(NoReplaceRename.TryMove(source, temp.File("free-name")));
        Assert.Equal("new", File.ReadAllText(temp.File("free-name")));
    }

    [Fact]
    public void Stale_partials_of_dead_writers_are_removed_and_live_ones_kept()
    {
        string target = temp.File("checkpoint");
        string dead = temp.File($".checkpoint.partial-{int.MaxValue}-0123");   // no process has this id
        string live = PartialFiles.NewPartialName(target);                        // this process's own
        string foreign = temp.File(".checkpoint.partial-notapid");             // not of our naming
        foreach (string folder in new[] { dead, live, foreign })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "model.safetensors"), "partial");
        }

        Assert.Equal([dead], PartialFiles.RemoveStale(target));
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(foreign));
    }
}
