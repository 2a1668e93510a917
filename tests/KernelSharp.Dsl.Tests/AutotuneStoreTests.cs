using System.Text.Json;
using KernelSharp.Dsl.Launch;

namespace KernelSharp.Dsl.Tests;

/// <summary>
/// The autotuner's store never destroys a file it cannot use (the path may name a file of the user's): a corrupt one is
/// set aside under a fresh name and a warning names it, once; an unreadable one is left alone.
/// </summary>
public sealed class AutotuneStoreTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "ks-autotune-store-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> warnings = [];

    public AutotuneStoreTests() => Directory.CreateDirectory(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string StorePath => Path.Combine(folder, "autotune.json");

    [Theory]
    [InlineData("{\"cuda|Gemv|4096\": \"Gemv__rows4\", ")]          // cut off mid-write by another tool
    [InlineData("{\"cuda|Gemv|4096\": 4}")]                          // JSON, but not kernel choices
    [InlineData("null")]
    [InlineData("my notes, not a cache")]
    public void A_corrupt_file_is_moved_aside_with_one_warning_and_a_new_store_is_written(string corrupt)
    {
        File.WriteAllText(StorePath, corrupt);
        var store = new AutotuneStore(StorePath, warnings.Add);

        Assert.Null(store.Get("cpu|RmsNorm|8"));
        store.Set("cpu|RmsNorm|8", "RmsNorm__blockSize64");
        store.Set("cpu|RmsNorm|16", "RmsNorm__blockSize128");

        string warning = Assert.Single(warnings);
        Assert.StartsWith($"warning: the autotune file {StorePath} is not a JSON object of kernel choices (", warning);
        Assert.EndsWith($"); moved it to {StorePath}.corrupt and starting a new one", warning);
        Assert.Equal(corrupt, File.ReadAllText(StorePath + ".corrupt"));
        var saved = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(StorePath))!;
        Assert.Equal("RmsNorm__blockSize64", saved["cpu|RmsNorm|8"]);
        Assert.Equal("RmsNorm__blockSize128", saved["cpu|RmsNorm|16"]);
    }

    [Fact]
    public void An_earlier_corrupt_copy_is_never_overwritten()
    {
        File.WriteAllText(StorePath + ".corrupt", "the first one");
        File.WriteAllText(StorePath + ".corrupt.1", "the second one");
        File.WriteAllText(StorePath, "the third one");

        new AutotuneStore(StorePath, warnings.Add).Set("cpu|RmsNorm|8", "RmsNorm__blockSize64");

        Assert.Equal("the first one", File.ReadAllText(StorePath + ".corrupt"));
        Assert.Equal("the second one", File.ReadAllText(StorePath + ".corrupt.1"));
        Assert.Equal("the third one", File.ReadAllText(StorePath + ".corrupt.2"));
        Assert.Contains($"moved it to {StorePath}.corrupt.2", Assert.Single(warnings));
    }

    [Fact]
    public void A_store_that_cannot_be_read_is_left_alone_and_choices_stay_in_memory()
    {
        Directory.CreateDirectory(StorePath); // a folder where the file should be
        var store = new AutotuneStore(StorePath, warnings.Add);

        store.Set("cpu|RmsNorm|8", "RmsNorm__blockSize64");
        store.Set("cpu|RmsNorm|16", "RmsNorm__blockSize128");

        Assert.Equal("RmsNorm__blockSize64", store.Get("cpu|RmsNorm|8"));
        Assert.Equal("RmsNorm__blockSize128", store.Get("cpu|RmsNorm|16"));
        Assert.True(Directory.Exists(StorePath));
        Assert.Equal($"warning: the autotune file {StorePath} cannot be read (it is a folder); it is left as it is and this run's choices are not saved", Assert.Single(warnings));
        Assert.Equal([StorePath], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void A_valid_store_is_read_and_extended_without_a_warning()
    {
        File.WriteAllText(StorePath, "{\"cpu|RmsNorm|8\": \"RmsNorm__blockSize64\"}");
        var store = new AutotuneStore(StorePath, warnings.Add);
        Assert.Equal("RmsNorm__blockSize64", store.Get("cpu|RmsNorm|8"));
        store.Set("cpu|RmsNorm|16", "RmsNorm__blockSize128");
        Assert.Empty(warnings);
        Assert.Equal(2, JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(StorePath))!.Count);
        Assert.False(File.Exists(StorePath + ".corrupt"));
    }
}
