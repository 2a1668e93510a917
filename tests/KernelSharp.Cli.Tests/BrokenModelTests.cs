using System.Text;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// A corpus of broken model folders, built fresh in temp folders: each must give exit code 1 and ONE stderr line naming
/// the broken file, no stack trace, and leave the folder exactly as it was.
/// </summary>
public sealed class BrokenModelTests
{
    public static TheoryData<string, string> Cases() => new()
    {
        { "truncated safetensors", "generate" },
        { "truncated safetensors", "logits" },
        { "header length past the end", "logits" },
        { "header not JSON", "logits" },
        { "config not JSON", "generate" },
        { "config not JSON", "logits" },
        { "config missing a key", "logits" },
        { "config inconsistent", "generate" },
        { "missing shard", "logits" },
        { "missing shard", "generate" },
        { "missing tokenizer", "generate" },
        { "broken tokenizer", "generate" },
        { "empty folder", "generate" },
        { "empty folder", "logits" },
        { "missing folder", "logits" },
        { "unknown dtype", "logits" },
        { "shape not matching the bytes", "logits" },
        { "overlapping offsets", "logits" },
        { "tensor of the wrong shape", "logits" },
        { "tensor of the wrong shape", "generate" },
        { "tensor missing from a shard", "logits" },
        { "indexer head smaller than rope", "logits" },
        { "tokenizer without a model", "generate" },
        { "index not JSON", "logits" },
    };

    [Fact]
    public void A_json_syntax_error_names_its_line_and_position_once_counted_from_one()
    {
        using var temp = new TempDirectory();
        string folder = temp.CopyOf(Fixtures.TinyBf16, "model");
        string config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, "{\n  \"vocab_size\": 512,\n    x\n}");
        CliResult result = Cli.Run("inspect", "-m", folder);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"error: {config}: not valid JSON (line 3, position 5): 'x' is an invalid start of a property name. Expected a '\"'.", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_broken_model_folder_gives_one_line_naming_the_file_and_stays_untouched(string breakage, string verb)
    {
        using var temp = new TempDirectory();
        (string folder, string culprit) = Build(temp, breakage);
        Dictionary<string, (long, DateTime)> before = Snapshot(folder);

        string[] args = verb == "generate"
            ? ["generate", "-m", folder, "-p", "Hello", "-n", "4", "--temp", "0"]
            : ["logits", "-m", folder, "--tokens", "1,2,3", "-o", temp.Combine("out.safetensors")];
        CliResult result = Cli.Run(args);

        Assert.True(result.ExitCode == 1, result.ToString());
        string line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line);
        Assert.Contains(culprit, line);
        Assert.DoesNotContain(" at KernelSharp", result.Stderr);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Equal(before, Snapshot(folder));
        Assert.False(File.Exists(temp.Combine("out.safetensors")));
    }

    /// <summary>Breaks a copy of a fixture; returns the folder and the path the error must mention.</summary>
    private static (string Folder, string Culprit) Build(TempDirectory temp, string breakage)
    {
        string bf16 = temp.CopyOf(Fixtures.TinyBf16, "bf16");
        string Weights() => Path.Combine(bf16, "model.safetensors");
        string Config() => Path.Combine(bf16, "config.json");
        switch (breakage)
        {
            case "truncated safetensors":
            {
                byte[] bytes = File.ReadAllBytes(Weights());
                File.WriteAllBytes(Weights(), bytes[..(bytes.Length * 2 / 3)]);
                return (bf16, Weights());
            }
            case "header length past the end":
            {
                byte[] bytes = File.ReadAllBytes(Weights());
                BitConverter.GetBytes((ulong)bytes.Length * 2).CopyTo(bytes, 0);
                File.WriteAllBytes(Weights(), bytes);
                return (bf16, Weights());
            }
            case "header not JSON":
            {
                byte[] bytes = File.ReadAllBytes(Weights());
                Encoding.ASCII.GetBytes("#!?not json").CopyTo(bytes, 8);
                File.WriteAllBytes(Weights(), bytes);
                return (bf16, Weights());
            }
            case "config not JSON":
                File.WriteAllText(Config(), "vocab_size = 512");
                return (bf16, Config());
            case "config missing a key":
                ReplaceIn(Config(), "\"hidden_size\": 128,", string.Empty);
                return (bf16, Config());
            case "config inconsistent":
                ReplaceIn(Config(), "\"n_group\": 4,", "\"n_group\": 3,");
                return (bf16, Config());
            case "missing shard":
            {
                string fp8 = temp.CopyOf(Fixtures.TinyFp8Yarn, "fp8");
                string shard = Path.Combine(fp8, "model-00002-of-00002.safetensors");
                File.Delete(shard);
                return (fp8, "model-00002-of-00002.safetensors");
            }
            case "missing tokenizer":
                File.Delete(Path.Combine(bf16, "tokenizer.json"));
                return (bf16, Path.Combine(bf16, "tokenizer.json"));
            case "broken tokenizer":
                File.WriteAllText(Path.Combine(bf16, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": ");
                return (bf16, Path.Combine(bf16, "tokenizer.json"));
            case "empty folder":
            {
                string empty = temp.Combine("empty");
                Directory.CreateDirectory(empty);
                return (empty, Path.Combine(empty, "config.json"));
            }
            case "missing folder":
                return (temp.Combine("nowhere"), temp.Combine("nowhere"));
            case "unknown dtype":
                SafeTensorsSurgery.EditHeader(Weights(), header => header["model.norm.weight"]!["dtype"] = "Q4_K");
                return (bf16, Weights());
            case "shape not matching the bytes":
                SafeTensorsSurgery.EditHeader(Weights(), header => header["model.norm.weight"]!["shape"] = new System.Text.Json.Nodes.JsonArray(129));
                return (bf16, Weights());
            case "overlapping offsets":
                SafeTensorsSurgery.EditHeader(Weights(), header =>
                {
                    string name = SafeTensorsSurgery.FirstRectangularTensor(header);
                    var offsets = header[name]!["data_offsets"]!.AsArray();
                    long begin = (long)offsets[0]!, end = (long)offsets[1]!;
                    offsets[0] = begin + 2;
                    offsets[1] = end + 2;
                });
                return (bf16, Weights());
            case "tensor of the wrong shape":
            {
                string tensor = string.Empty;
                SafeTensorsSurgery.EditHeader(Weights(), header =>
                {
                    tensor = SafeTensorsSurgery.FirstRectangularTensor(header);
                    var shape = header[tensor]!["shape"]!.AsArray();
                    long rows = (long)shape[0]!, cols = (long)shape[1]!;
                    header[tensor]!["shape"] = new System.Text.Json.Nodes.JsonArray(cols, rows);
                });
                return (bf16, tensor);
            }
            case "tensor missing from a shard":
            {
                string fp8 = temp.CopyOf(Fixtures.TinyFp8Yarn, "fp8");
                string index = Path.Combine(fp8, "model.safetensors.index.json");
                var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(index))!;
                json["weight_map"]!["model.layers.0.extra_tensor.weight"] = "model-00001-of-00002.safetensors";
                File.WriteAllText(index, json.ToJsonString());
                return (fp8, "model.layers.0.extra_tensor.weight");
            }
            case "indexer head smaller than rope":
                ReplaceIn(Config(), "\"index_head_dim\": 32,", "\"index_head_dim\": 8,");
                return (bf16, Config());
            case "tokenizer without a model":
                File.WriteAllText(Path.Combine(bf16, "tokenizer.json"), "{\"version\": \"1.0\", \"added_tokens\": []}");
                return (bf16, Path.Combine(bf16, "tokenizer.json"));
            case "index not JSON":
            {
                string fp8 = temp.CopyOf(Fixtures.TinyFp8Yarn, "fp8");
                string index = Path.Combine(fp8, "model.safetensors.index.json");
                File.WriteAllText(index, "{\"weight_map\": [");
                return (fp8, index);
            }
            default:
                throw new ArgumentException(breakage);
        }
    }

    /// <summary>Replaces text that must be there (so a changed fixture cannot silently turn a case into a no-op).</summary>
    private static void ReplaceIn(string path, string oldText, string newText)
    {
        string text = File.ReadAllText(path);
        Assert.Contains(oldText, text);
        File.WriteAllText(path, text.Replace(oldText, newText));
    }

    private static Dictionary<string, (long, DateTime)> Snapshot(string folder)
        => Directory.Exists(folder)
            ? Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories)
                .ToDictionary(p => p, p => (File.Exists(p) ? new FileInfo(p).Length : -1, File.GetLastWriteTimeUtc(p)))
            : [];

    [Fact]
    public void A_model_too_large_for_memory_is_refused_before_any_weight_is_read()
    {
        // The full DeepSeek-V3.2 config with no weight files at all: the memory estimate must stop it first.
        using var temp = new TempDirectory();
        string folder = temp.Combine("deepseek-v3.2");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), KernelSharp.Runtime.ModelPresets.DeepSeekV32.ToJson());
        File.Copy(Path.Combine(Fixtures.TinyBf16, "tokenizer.json"), Path.Combine(folder, "tokenizer.json"));

        CliResult result = Cli.Run("generate", "-m", folder, "-p", "Hello", "-n", "4");

        Assert.True(result.ExitCode == 1, result.ToString());
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains(folder, line);
        Assert.Contains("is available; try", line);
    }
}
