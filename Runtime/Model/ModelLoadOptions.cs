namespace KernelSharp.Runtime.Model;

/// <summary>How <see cref="DeepSeekModel.Load"/> places and checks a model.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>"auto" (CUDA, then OpenCL, then CPU) | "cuda" | "opencl" | "cpu" | "ilgpu-cpu".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// The folder's config.json when the caller has already parsed it (the CLI reads it once to validate options);
    /// null = parse it from the folder.
    /// </summary>
    public ModelConfig? Config { get; init; }

    /// <summary>
    /// Generate the weights from this seed instead of reading a checkpoint (a synthetic model: measures a model whose
    /// checkpoint is not at hand). The path given to <see cref="DeepSeekModel.Load"/> is then the config.json, or a folder
    /// holding it (with <see cref="Config"/> given, only the name messages use); no safetensors or tokenizer is read.
    /// Tensors have <c>create-model</c>'s formats and distributions and are made on the backend's device (see
    /// Runtime/Model/README.md). Null (default) = read the checkpoint.
    /// </summary>
    public int? SyntheticSeed { get; init; }

    /// <summary>Receives the loaded fraction of the weights, 0..1.</summary>
    public IProgress<double>? Progress { get; init; }

    /// <summary>Longest sequence the memory check reserves caches for (default: min(max_position_embeddings, 4096)).</summary>
    public int? MaxContext { get; init; }

    /// <summary>Memory the model may use; null = the GPU's memory for a GPU device, else what the runtime reports free (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes).</summary>
    public long? AvailableMemoryBytes { get; init; }

    /// <summary>
    /// How the prefill's bf16 / FP8 linear layers multiply: Exact (fp32 activations) or TensorCores (bf16 activations on
    /// tensor cores). Null (default) = the device's default, <see cref="Devices.DeviceSelector.DefaultPrefill"/>: tensor
    /// cores on CUDA, exact elsewhere. The CPU ("cpu") always prefills in fp32.
    /// </summary>
    public PrefillMatmul? PrefillMatmul { get; init; }

    /// <summary>
    /// Tests only: makes each rank's backend instead of <see cref="Device"/>'s (the tests' fp32 reference backend, which
    /// whole-model results of the kernel backends are compared with). Null = the device's kernel backend.
    /// </summary>
    internal Func<Backend.IModelBackend>? TestBackend { get; init; }

    /// <summary>
    /// How sessions keep the MLA latent cache: fp32 (default) or DeepSeek-V3.2's FP8 rows (656 B per token and layer
    /// instead of 2304 at the real widths). FP8 needs a kernel backend; the "cpu" backend refuses it when loading.
    /// </summary>
    public KvCacheFormat KvCache { get; init; } = KvCacheFormat.Fp32;

    /// <summary>
    /// Split the model over this many ranks in this process (null = the whole model on one device, no collectives): the
    /// routed experts, the attention heads, the embedding and the head are cut by rank, and the ranks exchange
    /// through NCCL on CUDA GPUs (one GPU each: <see cref="Gpus"/>, default 0 … Ranks − 1) or through host memory on the
    /// CPU devices. Every rank runs each step at once; the model returns rank 0's logits, which every rank holds.
    /// </summary>
    public int? Ranks { get; init; }

    /// <summary>
    /// The CUDA devices of the ranks, rank r on GPU Gpus[r] (CUDA device numbers, as <c>nvidia-smi</c> lists them);
    /// sets <see cref="Ranks"/> to its length. One GPU is a group of one: its collectives run through NCCL as identities.
    /// </summary>
    public IReadOnlyList<int>? Gpus { get; init; }
}
