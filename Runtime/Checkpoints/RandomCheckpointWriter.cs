using System.Runtime.InteropServices;
using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>
/// Writes a checkpoint of random weights for any config of the DeepSeek-V3.2 family, in the Hub layout
/// (<see cref="CheckpointLayout"/>): <c>config.json</c>, <c>model.safetensors</c> or N shards with
/// <c>model.safetensors.index.json</c>, and a tokenizer only when one is given (the vocabulary of a random model is
/// the caller's choice). Values are deterministic from the seed (<see cref="RandomWeights"/>), so the same call writes
/// the same bytes. Tensors are generated and written piece by piece: memory stays small even for multi-GB models.
/// The checkpoint is written into a hidden sibling folder and renamed into place when complete, so an interrupted
/// write never leaves a half checkpoint under the requested name.
/// </summary>
public static class RandomCheckpointWriter
{
    private const int ElementsPerChunk = 1 << 20;

    /// <param name="report">Receives one-line notices (stale partial folders of an interrupted earlier run removed).</param>
    public static void Write(
        ModelConfig config,
        string outDirectory,
        int seed,
        WeightFormat format,
        int shards = 1,
        bool force = false,
        string? tokenizerJsonPath = null,
        IProgress<double>? progress = null,
        ProtectedInputs? inputs = null,
        Action<string>? report = null)
    {
        config.Validate("model config");
        if (shards is < 1 or > 99999)
        {
            throw new UserInputException($"shard count {shards} is out of range; expected 1 to 99999");
        }

        string target = CanonicalTarget(outDirectory);
        inputs ??= new ProtectedInputs();
        if (tokenizerJsonPath is not null)
        {
            // Loaded, not just found: any other file (a config.json, notes) would be copied as the model's tokenizer and
            // fail only at the first generate. The tokenizer_config.json beside it, copied with it, is read as well.
            Tokenization.BpeTokenizer.Load(tokenizerJsonPath);
            inputs.AddFile(tokenizerJsonPath);
        }
        if (inputs.Conflict(target) is string input)
        {
            throw new UserInputException($"{target}: the checkpoint would replace or hold the input {input}; choose another folder");
        }

        CheckTarget(target, force);
        foreach (string stale in PartialFiles.RemoveStale(target))
        {
            report?.Invoke($"removed {stale}, left by an interrupted create-model");
        }

        QuantizationConfig? quantization = format == WeightFormat.Fp8 ? config.Quantization ?? QuantizationConfig.Fp8Blocks128 : null;
        // No MTP layer is written, so the config must not announce one.
        ModelConfig written = config with { Quantization = quantization, NumNextnPredictLayers = 0 };
        // What we write must be what the loader accepts: parse our own JSON back and apply the model's own rules.
        ModelConfigValidator.ValidateRunnable(ModelConfig.Parse(written.ToJson(), "model config"), "model config");
        string parent = Path.GetDirectoryName(target) ?? throw new UserInputException($"{target}: cannot write a checkpoint at the file-system root");
        CheckPlannedSize(written, format, parent);

        List<PlannedTensor> plan = Plan(written, quantization);
        List<List<PlannedTensor>> shardPlans = SplitIntoShards(plan, shards);

        string temporary = PartialFiles.NewPartialName(target);
        try
        {
            Directory.CreateDirectory(temporary);
            long totalBytes = plan.Sum(p => p.ByteLength);
            long doneBytes = 0;
            var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (int shard = 0; shard < shardPlans.Count; shard++)
            {
                string fileName = shards == 1 ? Checkpoint.SingleFileName : $"model-{shard + 1:D5}-of-{shards:D5}.safetensors";
                WriteShard(Path.Combine(temporary, fileName), shardPlans[shard], seed, quantization, bytes =>
                {
                    doneBytes += bytes;
                    progress?.Report((double)doneBytes / Math.Max(1, totalBytes));
                });
                foreach (PlannedTensor tensor in shardPlans[shard])
                {
                    weightMap[tensor.Entry.Name] = fileName;
                    if (tensor.ScaleEntry is not null)
                    {
                        weightMap[tensor.ScaleEntry.Name] = fileName;
                    }
                }
            }

            if (shards > 1)
            {
                File.WriteAllText(Path.Combine(temporary, ShardIndex.FileName), IndexJson(totalBytes, weightMap));
            }

            File.WriteAllText(Path.Combine(temporary, "config.json"), written.ToJson());
            CopyTokenizer(tokenizerJsonPath, temporary);
            Publish(temporary, target, force);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new CheckpointException($"{target}: cannot write the checkpoint ({e.Message})", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// The target as a canonical path: separators trimmed (tab completion writes <c>DIR/</c>; the partial folder must
    /// be a sibling, never a child), the parent's links resolved. A link as the target itself is refused: replacing it
    /// would either break the link or delete what it points to.
    /// </summary>
    private static string CanonicalTarget(string outDirectory)
    {
        string trimmed = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDirectory));
        string? parent = Path.GetDirectoryName(trimmed);
        if (parent is null || Path.GetFileName(trimmed).Length == 0)
        {
            throw new UserInputException($"{outDirectory}: cannot write a checkpoint at the file-system root");
        }

        if (new DirectoryInfo(trimmed).LinkTarget is string link)
        {
            throw new UserInputException($"{outDirectory}: is a link to {link}; give the folder itself (or a new name)");
        }

        string canonicalParent = RealPaths.Resolve(parent);
        if (!Directory.Exists(canonicalParent))
        {
            throw new UserInputException($"{outDirectory}: the folder {parent} does not exist");
        }

        return Path.Combine(canonicalParent, Path.GetFileName(trimmed));
    }

    /// <summary>
    /// Moves the finished checkpoint into place. The target is checked again here, not only at the start: a folder
    /// that appeared meanwhile (a user's mkdir, a second create-model) is never replaced without --force, and with
    /// --force only if it still looks like a checkpoint. The old one is first renamed aside, so at every instant the
    /// target is either the old checkpoint or the new one.
    /// </summary>
    private static void Publish(string temporary, string target, bool force)
    {
        if (NoReplaceRename.TryMove(temporary, target))
        {
            return;
        }

        if (!force)
        {
            throw new UserInputException(
                $"{target}: appeared while the checkpoint was being written (another create-model, or a folder made meanwhile); " +
                "it was left as it is and the new checkpoint discarded; pass --force to replace it");
        }

        CheckTarget(target, force);
        string aside = PartialFiles.NewPartialName(target);
        if (!NoReplaceRename.TryMove(target, aside) && (File.Exists(target) || Directory.Exists(target)))
        {
            throw new UserInputException($"{target}: could not move the old checkpoint aside; nothing was replaced");
        }

        if (!NoReplaceRename.TryMove(temporary, target))
        {
            NoReplaceRename.TryMove(aside, target);
            throw new UserInputException($"{target}: another writer published a checkpoint at the same moment; it won, this one was discarded");
        }

        TryDelete(aside);
    }

    /// <summary>
    /// Refuses, before a single tensor is planned, a checkpoint whose size does not fit in 64-bit arithmetic, whose
    /// tensor count no loader could list, or whose bytes do not fit on the target's disk.
    /// </summary>
    private static void CheckPlannedSize(ModelConfig config, WeightFormat format, string parent)
    {
        // Listing the layout refuses absurd tensor counts (CheckpointLayout.MaxTensors) before anything is allocated.
        _ = CheckpointLayout.TensorCountBound(config) > CheckpointLayout.MaxTensors ? CheckpointLayout.For(config) : null;
        var storage = format == WeightFormat.Fp8 ? Model.WeightStorage.Fp8 : Model.WeightStorage.BFloat16;
        long bytes = Model.MemoryEstimate.For(config, storage, 0).WeightBytes;

        long free = FreeBytes(parent);
        if (free >= 0 && bytes > free)
        {
            throw new UserInputException(
                $"{parent}: the checkpoint needs {Model.MemoryEstimate.Format(bytes)} but the disk has {Model.MemoryEstimate.Format(free)} free");
        }
    }

    private static long FreeBytes(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return -1; // unknown: the write itself reports a full disk
        }
    }

    /// <summary>A projection and, in FP8, its block-scale companion, which are kept in the same shard.</summary>
    private sealed record PlannedTensor(CheckpointTensor Tensor, SafeTensorsEntry Entry, SafeTensorsEntry? ScaleEntry)
    {
        public long ByteLength => Entry.ByteLength + (ScaleEntry?.ByteLength ?? 0);
    }

    private static void CheckTarget(string target, bool force)
    {
        FileKind kind = FileKinds.Of(target);
        if (kind is not (FileKind.Missing or FileKind.Directory or FileKind.Regular))
        {
            throw new UserInputException($"{target}: is {FileKinds.Describe(kind)}; expected a new folder name for the checkpoint");
        }

        if (File.Exists(target))
        {
            throw new UserInputException($"{target}: a file with this name exists; expected a new folder name for the checkpoint");
        }

        if (!Directory.Exists(target))
        {
            return;
        }

        if (!force)
        {
            throw new UserInputException($"{target}: folder already exists; choose a new name or pass --force to replace it");
        }

        // Even with force, only ever replace a folder that holds nothing but a checkpoint's own files: one with anything
        // else in it (a subfolder, notes, goldens, a file of the user's) is refused, so --force can never delete data that
        // create-model would not write again.
        var entries = Directory.EnumerateFileSystemEntries(target).ToList();
        if (entries.Count == 0)
        {
            return;
        }

        foreach (string entry in entries)
        {
            string name = Path.GetFileName(entry);
            if (FileKinds.Of(entry) != FileKind.Regular || !IsCheckpointFileName(name))
            {
                throw new UserInputException(
                    $"{target}: holds '{name}'{(FileKinds.Of(entry) == FileKind.Regular ? "" : $" ({FileKinds.Describe(FileKinds.Of(entry))})")}, which is not a checkpoint file; " +
                    "--force replaces only a folder holding nothing but a checkpoint (config.json, safetensors, tokenizer); move it or choose another name");
            }
        }

        if (!File.Exists(Path.Combine(target, "config.json")) || !entries.Any(e => e.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            throw new UserInputException($"{target}: folder exists and is not a checkpoint (it needs config.json and .safetensors files); refusing to replace it");
        }
    }

    /// <summary>The files a checkpoint folder holds: what create-model writes, and a Hugging Face model's usual companions.</summary>
    private static bool IsCheckpointFileName(string name) =>
        name is "config.json" or "generation_config.json" or "tokenizer.json" or "tokenizer_config.json" or "special_tokens_map.json"
            or "configuration_deepseek.py" or "modeling_deepseek.py"
        || name == ShardIndex.FileName
        || (name.EndsWith(".safetensors", StringComparison.Ordinal) && !name.StartsWith('.'));

    private static List<PlannedTensor> Plan(ModelConfig config, QuantizationConfig? quantization)
    {
        var plan = new List<PlannedTensor>();
        foreach (CheckpointTensor tensor in CheckpointLayout.For(config))
        {
            if (tensor.Role == TensorRole.Projection && quantization is not null)
            {
                long scaleRows = (tensor.Shape[0] + quantization.BlockRows - 1) / quantization.BlockRows;
                long scaleCols = (tensor.Shape[1] + quantization.BlockCols - 1) / quantization.BlockCols;
                plan.Add(new PlannedTensor(
                    tensor,
                    new SafeTensorsEntry(tensor.Name, TensorDType.F8_E4M3, tensor.Shape),
                    new SafeTensorsEntry(tensor.Name + "_scale_inv", TensorDType.F32, [scaleRows, scaleCols])));
                continue;
            }

            TensorDType dtype = RandomWeights.StoredDType(tensor.Role, fp8Checkpoint: false);
            plan.Add(new PlannedTensor(tensor, new SafeTensorsEntry(tensor.Name, dtype, tensor.Shape), null));
        }

        return plan;
    }

    /// <summary>Consecutive runs of about equal bytes; every shard gets at least one tensor.</summary>
    private static List<List<PlannedTensor>> SplitIntoShards(List<PlannedTensor> plan, int shards)
    {
        if (plan.Count < shards)
        {
            throw new UserInputException($"cannot split {plan.Count} tensors into {shards} shards; use at most {plan.Count} shards");
        }

        long total = plan.Sum(p => p.ByteLength);
        var result = new List<List<PlannedTensor>> { new() };
        long cumulative = 0;
        for (int i = 0; i < plan.Count; i++)
        {
            int shard = result.Count - 1;
            bool shareReached = cumulative >= (shard + 1) * (total / shards);
            bool mustSpread = plan.Count - i == shards - 1 - shard;
            if (result[shard].Count > 0 && shard < shards - 1 && (shareReached || mustSpread))
            {
                result.Add([]);
            }

            result[^1].Add(plan[i]);
            cumulative += plan[i].ByteLength;
        }

        return result;
    }

    private static void WriteShard(string path, List<PlannedTensor> tensors, int seed, QuantizationConfig? quantization, Action<long> onBytes)
    {
        var entries = new List<SafeTensorsEntry>();
        foreach (PlannedTensor tensor in tensors)
        {
            entries.Add(tensor.Entry);
            if (tensor.ScaleEntry is not null)
            {
                entries.Add(tensor.ScaleEntry);
            }
        }

        using var writer = new SafeTensorsWriter(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (PlannedTensor tensor in tensors)
        {
            ulong key = RandomWeights.TensorKey(seed, tensor.Tensor.Name);
            if (tensor.ScaleEntry is not null)
            {
                WriteFp8(writer, tensor.Tensor, key, quantization!);
            }
            else
            {
                WritePlain(writer, tensor.Tensor, tensor.Entry.DType, key);
            }

            onBytes(tensor.ByteLength);
        }

        writer.Complete();
    }

    /// <summary>BF16 or F32 values, generated and written a chunk at a time.</summary>
    private static void WritePlain(SafeTensorsWriter writer, CheckpointTensor tensor, TensorDType dtype, ulong key)
    {
        long count = tensor.Shape.Aggregate(1L, (a, b) => a * b);
        float mean = RandomWeights.Mean(tensor.Role);
        float deviation = RandomWeights.StandardDeviation(tensor);
        var values = new float[(int)Math.Min(count, ElementsPerChunk)];       // [chunk]
        var bf16 = new ushort[dtype == TensorDType.BF16 ? values.Length : 0]; // [chunk]
        for (long first = 0; first < count; first += values.Length)
        {
            int length = (int)Math.Min(values.Length, count - first);
            FillParallel(key, first, values.AsMemory(0, length), mean, deviation);
            if (dtype == TensorDType.F32)
            {
                writer.Append(MemoryMarshal.AsBytes(values.AsSpan(0, length)));
                continue;
            }

            for (int i = 0; i < length; i++)
            {
                bf16[i] = StorageFormats.FloatToBf16(values[i]);
            }

            writer.Append(MemoryMarshal.AsBytes(bf16.AsSpan(0, length)));
        }
    }

    /// <summary>An FP8 matrix [rows, cols] one band of blockRows rows at a time (<see cref="Fp8BlockQuantizer"/>); the F32 scales follow the weight.</summary>
    private static void WriteFp8(SafeTensorsWriter writer, CheckpointTensor tensor, ulong key, QuantizationConfig blocks)
    {
        long rows = tensor.Shape[0];
        int cols = checked((int)tensor.Shape[1]);
        int scaleCols = (cols + blocks.BlockCols - 1) / blocks.BlockCols;
        long scaleRows = (rows + blocks.BlockRows - 1) / blocks.BlockRows;
        var scales = new float[checked(scaleRows * scaleCols)];             // [scaleRows, scaleCols]
        var band = new float[checked(blocks.BlockRows * cols)];             // [blockRows, cols]
        var codes = new byte[band.Length];                                  // [blockRows, cols]
        float deviation = RandomWeights.StandardDeviation(tensor);
        for (long bandIndex = 0; bandIndex < scaleRows; bandIndex++)
        {
            long firstRow = bandIndex * blocks.BlockRows;
            int bandRows = (int)Math.Min(blocks.BlockRows, rows - firstRow);
            int length = bandRows * cols;
            FillParallel(key, firstRow * cols, band.AsMemory(0, length), 0f, deviation);
            Fp8BlockQuantizer.QuantizeBand(band, bandRows, cols, blocks.BlockCols, codes, scales.AsSpan((int)(bandIndex * scaleCols), scaleCols));
            writer.Append(codes.AsSpan(0, length));
        }

        writer.Append(MemoryMarshal.AsBytes(scales.AsSpan()));
    }

    private static void FillParallel(ulong key, long first, Memory<float> values, float mean, float deviation)
    {
        const int piece = 1 << 16;
        int pieces = (values.Length + piece - 1) / piece;
        Parallel.For(0, pieces, p =>
        {
            int start = p * piece;
            int length = Math.Min(piece, values.Length - start);
            RandomWeights.Fill(key, first + start, values.Span.Slice(start, length), mean, deviation);
        });
    }

    private static string IndexJson(long totalBytes, SortedDictionary<string, string> weightMap)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalBytes);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach ((string name, string file) in weightMap)
            {
                json.WriteString(name, file);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void CopyTokenizer(string? tokenizerJsonPath, string folder)
    {
        if (tokenizerJsonPath is null)
        {
            return;
        }

        File.Copy(tokenizerJsonPath, Path.Combine(folder, "tokenizer.json"));
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!, "tokenizer_config.json");
        if (File.Exists(config))
        {
            File.Copy(config, Path.Combine(folder, "tokenizer_config.json"));
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original error matters more; a leftover hidden ".partial-" folder is harmless.
        }
    }
}
