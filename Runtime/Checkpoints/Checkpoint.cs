using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime;

/// <summary>
/// A model checkpoint folder in the Hugging Face Hub layout: <c>model.safetensors</c>, or shards listed in
/// <c>model.safetensors.index.json</c>. Every file is validated and memory-mapped when opened, so a broken checkpoint
/// fails at <see cref="Open(string)"/> with a <see cref="CheckpointException"/> naming the file and tensor.
/// A path to a single <c>.safetensors</c> file also opens (e.g. golden.safetensors), and so does the path of an index.
/// Reads may run concurrently from several threads; spans from <see cref="GetRawBytes"/> are valid until <see cref="Dispose"/>.
/// </summary>
public sealed unsafe class Checkpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";

    private readonly List<SafeTensorsFile> files;
    private readonly Dictionary<string, (SafeTensorsFile File, TensorInfo Info)> tensors;
    private readonly QuantizationConfig blockScales;

    private Checkpoint(string location, List<SafeTensorsFile> files, Dictionary<string, (SafeTensorsFile, TensorInfo)> tensors, QuantizationConfig blockScales)
    {
        Location = location;
        this.files = files;
        this.tensors = tensors;
        this.blockScales = blockScales;
    }

    /// <summary>The folder (or file) that was opened.</summary>
    public string Location { get; }

    public IReadOnlyCollection<string> TensorNames => tensors.Keys;

    /// <summary>The safetensors files, in the order they were opened.</summary>
    public IReadOnlyList<string> FilePaths => files.Select(f => f.Path).ToList();

    /// <summary>Bytes of tensor data over all files.</summary>
    public long TotalBytes => tensors.Values.Sum(t => t.Info.ByteLength);

    /// <summary>Opens a checkpoint; FP8 weights are dequantized with 128×128 block scales.</summary>
    public static Checkpoint Open(string directory) => Open(directory, null);

    /// <summary>Opens a checkpoint; FP8 block sizes come from <paramref name="quantization"/> (128×128 when null).</summary>
    public static Checkpoint Open(string directory, QuantizationConfig? quantization)
    {
        QuantizationConfig blocks = quantization ?? QuantizationConfig.Fp8Blocks128;
        if (File.Exists(directory) && Path.GetFileName(directory) == ShardIndex.FileName)
        {
            return Open(Path.GetDirectoryName(Path.GetFullPath(directory))!, quantization); // the index names its folder
        }

        if (File.Exists(directory))
        {
            return FromFiles(directory, [directory], weightMap: null, indexPath: null, blocks);
        }

        if (!Directory.Exists(directory))
        {
            throw new CheckpointException($"{directory}: checkpoint folder not found");
        }

        string single = Path.Combine(directory, SingleFileName);
        if (File.Exists(single))
        {
            return FromFiles(directory, [single], weightMap: null, indexPath: null, blocks);
        }

        string indexPath = Path.Combine(directory, ShardIndex.FileName);
        if (File.Exists(indexPath))
        {
            ShardIndex index = ShardIndex.Load(indexPath);
            var shardPaths = new List<string>();
            foreach (string shard in index.ShardFiles)
            {
                string shardPath = Path.Combine(directory, shard);
                if (!File.Exists(shardPath))
                {
                    string example = index.WeightMap.First(entry => entry.Value == shard).Key;
                    throw new CheckpointException($"{shardPath}: shard missing; {ShardIndex.FileName} maps tensor '{example}' (and maybe others) to it");
                }

                shardPaths.Add(shardPath);
            }

            return FromFiles(directory, shardPaths, index.WeightMap, indexPath, blocks);
        }

        throw new CheckpointException($"{directory}: contains neither {SingleFileName} nor {ShardIndex.FileName}; expected a Hugging Face checkpoint folder");
    }

    private static Checkpoint FromFiles(string location, List<string> paths, IReadOnlyDictionary<string, string>? weightMap, string? indexPath, QuantizationConfig blocks)
    {
        var opened = new List<SafeTensorsFile>();
        try
        {
            var byName = new Dictionary<string, (SafeTensorsFile, TensorInfo)>(StringComparer.Ordinal);
            foreach (string path in paths)
            {
                SafeTensorsFile file = SafeTensorsFile.Open(path);
                opened.Add(file);
                string fileName = Path.GetFileName(path);
                foreach (TensorInfo info in file.Header.Tensors)
                {
                    // With an index, a tensor stored in several shards belongs to the one the index names.
                    if (weightMap is not null && weightMap.TryGetValue(info.Name, out string? owner) && owner != fileName)
                    {
                        continue;
                    }

                    if (!byName.TryAdd(info.Name, (file, info)))
                    {
                        throw new CheckpointException($"{path}: tensor '{info.Name}' is also stored in {byName[info.Name].Item1.Path}; expected each tensor once");
                    }
                }
            }

            if (weightMap is not null)
            {
                foreach ((string name, string shard) in weightMap)
                {
                    if (!byName.ContainsKey(name))
                    {
                        throw new CheckpointException($"{Path.Combine(location, shard)}: has no tensor '{name}', which {indexPath} maps to it");
                    }
                }
            }

            return new Checkpoint(location, opened, byName, blocks);
        }
        catch
        {
            foreach (SafeTensorsFile file in opened)
            {
                file.Dispose();
            }

            throw;
        }
    }

    public bool Contains(string name) => tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name) => Find(name).Info;

    /// <summary>The stored bytes of a tensor, valid until <see cref="Dispose"/> (at most 2 GB).</summary>
    public ReadOnlySpan<byte> GetRawBytes(string name)
    {
        (SafeTensorsFile file, TensorInfo info) = Find(name);
        return file.GetRawBytes(info);
    }

    /// <summary>The stored bytes of a tensor of any size, read in chunks from the mapping (valid until <see cref="Dispose"/>).</summary>
    public WeightBytes GetWeightBytes(string name)
    {
        (SafeTensorsFile file, TensorInfo info) = Find(name);
        return new MappedTensorBytes(file, info);
    }

    /// <summary>
    /// The tensor as float32, row-major. F32/F16/BF16 are converted; F8_E4M3 is multiplied by its <c>&lt;name&gt;_scale_inv</c>
    /// block scales. When <paramref name="expectedShape"/> is given, a different stored shape is a <see cref="CheckpointException"/>.
    /// </summary>
    public float[] ReadFloat32(string name, params long[] expectedShape) => RequireFinite(GetInfo(name), ReadConverted(name, expectedShape));

    private float[] ReadConverted(string name, long[] expectedShape)
    {
        (SafeTensorsFile file, TensorInfo info) = Find(name);
        CheckShape(info, expectedShape);
        if (!info.DType.IsFloatingPoint())
        {
            throw new CheckpointException($"{info.FilePath}: tensor '{name}' is {info.DType}; expected a floating-point tensor (F32, F16, BF16 or F8_E4M3)");
        }

        float[] result = AllocateFor(info);
        if (info.DType != TensorDType.F8_E4M3)
        {
            TensorConversion.ToFloat32(file.GetPointer(info), info.DType, result);
            return result;
        }

        // FP8 weights are matrices [.., cols]: leading dimensions fold into rows.
        long cols = info.Shape.Length == 0 ? 1 : info.Shape[^1];
        long rows = cols == 0 ? 0 : info.ElementCount / cols;
        long scaleRows = (rows + blockScales.BlockRows - 1) / blockScales.BlockRows;
        long scaleCols = (cols + blockScales.BlockCols - 1) / blockScales.BlockCols;
        string scaleName = name + "_scale_inv";
        if (!tensors.ContainsKey(scaleName))
        {
            throw new CheckpointException($"{info.FilePath}: FP8 tensor '{name}' has no '{scaleName}' (F32 block scales [{scaleRows}, {scaleCols}]) in the checkpoint");
        }

        TensorInfo scaleInfo = GetInfo(scaleName);
        if (scaleInfo.ElementCount != scaleRows * scaleCols || scaleInfo.Shape.Length != 2 || !scaleInfo.DType.IsFloatingPoint() || scaleInfo.DType == TensorDType.F8_E4M3)
        {
            throw new CheckpointException(
                $"{scaleInfo.FilePath}: tensor '{scaleName}' is {scaleInfo.DType} {scaleInfo.ShapeText}; expected F32 [{scaleRows}, {scaleCols}] " +
                $"(blocks of {blockScales.BlockRows}×{blockScales.BlockCols} over {name} {info.ShapeText})");
        }

        float[] scales = ReadConverted(scaleName, []);
        int badBlock = Array.FindIndex(scales, scale => !float.IsFinite(scale));
        if (badBlock >= 0)
        {
            // One corrupt scale silently turns a whole block of weights into NaN or infinity: report it here instead.
            throw new CheckpointException(
                $"{scaleInfo.FilePath}: tensor '{scaleName}' holds {scales[badBlock]} at block [{badBlock / scaleCols}, {badBlock % scaleCols}]; expected finite block scales");
        }

        TensorConversion.DequantizeFp8(file.GetPointer(info), rows, cols, scales, blockScales.BlockRows, blockScales.BlockCols, result);
        return result;
    }

    /// <summary>
    /// Rows [firstRow, firstRow + rowCount) of a [rows, columns] tensor as float32, for a rank that holds a slice (its part
    /// of the vocabulary): only those rows are converted. FP8 tensors are dequantized whole first (their block scales
    /// straddle slices), then sliced.
    /// </summary>
    public float[] ReadFloat32Rows(string name, long rows, long columns, long firstRow, int rowCount)
    {
        if (firstRow < 0 || rowCount < 0 || firstRow + rowCount > rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + rowCount}) are not inside the {rows} rows of '{name}'");
        }

        (SafeTensorsFile file, TensorInfo info) = Find(name);
        CheckShape(info, [rows, columns]);
        if (info.DType == TensorDType.F8_E4M3)
        {
            return ReadFloat32(name, rows, columns).AsSpan(checked((int)(firstRow * columns)), checked((int)(rowCount * columns))).ToArray();
        }

        if (!info.DType.IsFloatingPoint())
        {
            throw new CheckpointException($"{info.FilePath}: tensor '{name}' is {info.DType}; expected a floating-point tensor (F32, F16, BF16 or F8_E4M3)");
        }

        var result = new float[checked(rowCount * columns)];
        TensorConversion.ToFloat32(file.GetPointer(info) + (firstRow * columns * info.DType.SizeInBytes()), info.DType, result);
        return RequireFinite(info, result);
    }

    /// <summary>An I32 (or in-range I64) tensor as int32, e.g. token ids in golden files.</summary>
    public int[] ReadInt32(string name, params long[] expectedShape)
    {
        (SafeTensorsFile file, TensorInfo info) = Find(name);
        CheckShape(info, expectedShape);
        ReadOnlySpan<byte> bytes = file.GetRawBytes(info);
        var result = new int[info.ElementCount];
        switch (info.DType)
        {
            case TensorDType.I32:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BitConverter.ToInt32(bytes.Slice(i * 4, 4));
                }

                return result;
            case TensorDType.I64:
                for (int i = 0; i < result.Length; i++)
                {
                    long value = BitConverter.ToInt64(bytes.Slice(i * 8, 8));
                    result[i] = value is >= int.MinValue and <= int.MaxValue
                        ? (int)value
                        : throw new CheckpointException($"{info.FilePath}: tensor '{name}' holds {value} at element {i}, outside the int32 range");
                }

                return result;
            default:
                throw new CheckpointException($"{info.FilePath}: tensor '{name}' is {info.DType}; expected an integer tensor (I32 or I64)");
        }
    }

    public void Dispose()
    {
        foreach (SafeTensorsFile file in files)
        {
            file.Dispose();
        }
    }

    private (SafeTensorsFile File, TensorInfo Info) Find(string name) =>
        tensors.TryGetValue(name, out var entry)
            ? entry
            : throw new CheckpointException($"{Location}: no tensor '{name}' in the checkpoint");

    private static float[] RequireFinite(TensorInfo info, float[] values)
    {
        long bad = NonFiniteValues.FirstIndex(values);
        return bad < 0 ? values : throw NonFiniteValues.Error(info.FilePath, info.Name, info.Shape, bad);
    }

    private static void CheckShape(TensorInfo info, long[] expectedShape)
    {
        if (expectedShape.Length > 0 && !info.Shape.AsSpan().SequenceEqual(expectedShape))
        {
            throw new CheckpointException($"{info.FilePath}: tensor '{info.Name}' has shape {info.ShapeText}; expected {TensorInfo.FormatShape(expectedShape)}");
        }
    }

    private static float[] AllocateFor(TensorInfo info)
    {
        if (info.ElementCount > Array.MaxLength)
        {
            throw new CheckpointException($"{info.FilePath}: tensor '{info.Name}' {info.ShapeText} has {info.ElementCount} elements, more than one float array can hold");
        }

        return new float[info.ElementCount];
    }
}
