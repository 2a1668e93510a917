namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// The operations the DeepSeek-V3.2 forward pass is written in. The model code (Runtime/Model/Layers) only wires
/// these together, so a GPU backend built on the Kernels/ launchers can replace the CPU one without touching it.
/// Every op allocates its result unless it says "in place". Shapes: T = rows of the batch (tokens), H = hidden size.
/// All math is fp32. Weights arrive dequantized to fp32, or in their checkpoint format (bf16, FP8 + block scales)
/// where the backend <see cref="KeepsNativeWeights"/>; either kind is accepted wherever an op takes a weight matrix.
/// </summary>
public interface IModelBackend : IDisposable
{
    /// <summary>One line naming the backend and where it runs (e.g. "FastCpu (TensorPrimitives, 16 threads)").</summary>
    string Description { get; }

    /// <summary>True when weight matrices should come through <see cref="UploadNative"/> (bf16 / FP8 kept on the device),
    /// false when through <see cref="Upload(float[], int, int)"/> as fp32.</summary>
    bool KeepsNativeWeights { get; }

    /// <summary>
    /// True when <see cref="GatherRows"/> also reads a table kept in its checkpoint format (from <see cref="UploadNative"/>):
    /// a host backend that reads weights in place from the mapped checkpoint, where an fp32 copy of the embedding would
    /// be the largest allocation of the process. Others get the table in fp32.
    /// </summary>
    bool GathersNativeRows => false;

    // ---- storage ------------------------------------------------------------------------------------------------

    /// <summary>A weight matrix in its checkpoint format, usable as the weight of Linear, FeedForward and MixExperts.</summary>
    Tensor UploadNative(NativeMatrix matrix);

    /// <summary>
    /// One MoE layer's routed experts in their checkpoint format (gate/up [I, H], down [H, I] per expert, one format):
    /// a backend may stack them so <see cref="MixExperts"/> runs every expert in a few launches. Returns one
    /// <see cref="FeedForwardWeights"/> per expert, in order; pass exactly that list to MixExperts.
    /// </summary>
    IReadOnlyList<FeedForwardWeights> UploadExperts(IReadOnlyList<NativeMatrix> gates, IReadOnlyList<NativeMatrix> ups, IReadOnlyList<NativeMatrix> downs);

    /// <summary>
    /// One layer's zero-filled MLA key caches: the latent c [maxContext, latentDim] and the rotated k_pe [maxContext, ropeDim].
    /// A GPU backend lays both in one [maxContext, latentDim + ropeDim] buffer its attention kernels read in place. In
    /// <see cref="KvCacheFormat.Fp8"/> that buffer holds DeepSeek-V3.2's FP8 rows and the two tensors are only written
    /// (WriteRows, WriteRotatedRows, RmsNormRowsInto), downloaded and read by MlaAttention; a backend without it refuses
    /// with a <see cref="UserInputException"/>.
    /// </summary>
    (Tensor Latent, Tensor RopeKeys) AllocateLatentCache(int maxContext, int latentDim, int ropeDim, KvCacheFormat format = KvCacheFormat.Fp32);

    /// <summary>
    /// One layer's zero-filled indexer key cache [maxContext, dim], in the same <paramref name="format"/> as the latent
    /// cache: fp32, or with <see cref="KvCacheFormat.Fp8"/> DeepSeek-V3.2's e4m3 keys with one fp32 scale per key, only
    /// written by the cache writers, downloaded and read by IndexerScores; a backend without it refuses with a
    /// <see cref="UserInputException"/>.
    /// </summary>
    Tensor AllocateIndexKeyCache(int maxContext, int dim, KvCacheFormat format = KvCacheFormat.Fp32);

    /// <summary>Copies host values [rows × columns] row-major into a new tensor.</summary>
    Tensor Upload(float[] values, int rows, int columns);

    /// <summary>
    /// fp32 values [rows × columns] row-major from <paramref name="values"/> (4 bytes each), read in bounded chunks: a
    /// table such as the embedding needs no host array of its own size on a backend that streams it to the device, and
    /// generated values may be produced there in place.
    /// </summary>
    Tensor Upload(WeightBytes values, int rows, int columns);

    /// <summary>Copies host indices [rows × columns] row-major into a new index tensor.</summary>
    IndexTensor Upload(int[] values, int rows, int columns);

    /// <summary>A zero-filled tensor [rows, columns] (caches are allocated with this).</summary>
    Tensor Allocate(int rows, int columns);

    /// <summary>Copies a tensor back to the host, row-major.</summary>
    float[] Download(Tensor tensor);

    /// <summary>Copies a tensor back to the host, row-major, into <paramref name="destination"/> of exactly its length.</summary>
    void Download(Tensor tensor, Span<float> destination);

    /// <summary>Copies an index tensor back to the host, row-major.</summary>
    int[] Download(IndexTensor tensor);

    /// <summary>destination[destinationRow + r, :] = source[sourceRow + r, sourceColumn .. sourceColumn + destination.Columns) for r &lt; rowCount
    /// (how new keys enter a cache).</summary>
    void WriteRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn);

    /// <summary>
    /// <see cref="WriteRows"/> with rope: destination[destinationRow + r, :] = source[sourceRow + r, sourceColumn .. + destination.Columns)
    /// with the slice [ropeOffset, ropeOffset + 2·cos.Columns) rotated by cos/sin row sourceRow + r (how keys enter a cache:
    /// rotated while written, the source left as it is).
    /// </summary>
    void WriteRotatedRows(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn,
        int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout);

    /// <summary>
    /// How a pass's new keys enter the caches: for every segment and r &lt; RowCount, the <paramref name="part"/> cache row
    /// of position StartPosition + r (<see cref="AttentionSegment.CacheRow"/>) = RMSNorm(source[FirstRow + r,
    /// sourceColumn .. sourceColumn + weight.Columns)) · weight. Segments may share a paged pool.
    /// </summary>
    void StoreNormalizedKeys(IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn, Tensor weight, float eps);

    /// <summary>
    /// As <see cref="StoreNormalizedKeys"/>, but the value written is source[FirstRow + r, sourceColumn .. + cache columns)
    /// with the slice [ropeOffset, ropeOffset + 2·cos.Columns) rotated by cos/sin row FirstRow + r (<see cref="WriteRotatedRows"/>).
    /// </summary>
    void StoreRotatedKeys(IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn, int ropeOffset, Tensor cos, Tensor sin,
        RopeLayout layout);

    /// <summary>source[:, start .. start + count) as a new tensor [T, count].</summary>
    Tensor Columns(Tensor source, int start, int count);

    // ---- dense math ---------------------------------------------------------------------------------------------

    /// <summary>table[rows[t], :] → [rows.Length, table.Columns]: the token embedding lookup, and picking the rows that need logits.</summary>
    Tensor GatherRows(Tensor table, ReadOnlySpan<int> rows);

    /// <summary>x [T, in] · weightᵀ [out, in] → [T, out].</summary>
    Tensor Linear(Tensor x, Tensor weight);

    /// <summary>weight * x / sqrt(mean(x²) + eps) per row; weight [1, x.Columns].</summary>
    Tensor RmsNorm(Tensor x, Tensor weight, float eps);

    /// <summary>residual += addend in place, then weight * residual / sqrt(mean(residual²) + eps) per row → a new tensor:
    /// the "h += sublayer(x); x = norm(h)" step of a pre-norm block as one op.</summary>
    Tensor AddRmsNorm(Tensor residual, Tensor addend, Tensor weight, float eps);

    /// <summary>RMSNorm(source[:, sourceColumn .. sourceColumn + weight.Columns)) · weight → a new [T, weight.Columns]: the norm of a column slice.</summary>
    Tensor RmsNormColumns(Tensor source, int sourceColumn, Tensor weight, float eps);

    /// <summary>destination[destinationRow + r, :] = RMSNorm(source[sourceRow + r, sourceColumn .. sourceColumn + destination.Columns)) · weight
    /// for r &lt; rowCount: a norm of a column slice written straight into a cache (WriteRows of a normalized slice).</summary>
    void RmsNormRowsInto(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn, Tensor weight, float eps);

    /// <summary>(x − mean) / sqrt(var + eps) * weight + bias per row (biased variance); weight, bias [1, x.Columns].</summary>
    Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps);

    /// <summary>target += addend (same shape), in place: the residual stream.</summary>
    void AddInPlace(Tensor target, Tensor addend);

    /// <summary>x *= factor, in place.</summary>
    void ScaleInPlace(Tensor x, float factor);

    /// <summary>Rotates, in place, the slice [ropeOffset, ropeOffset + 2·cos.Columns) of each of <paramref name="heads"/> heads
    /// of width <paramref name="headDim"/> in every row; row t uses cos[t, :], sin[t, :] (one value per frequency).</summary>
    void ApplyRope(Tensor x, int heads, int headDim, int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout);

    /// <summary>gateUp [T, 2I] (each row gate ‖ up, from stacked gate_proj/up_proj weights) → silu(gate) · up [T, I].</summary>
    Tensor SwiGlu(Tensor gateUp);

    /// <summary>Dense SwiGLU feed-forward for every row: down(silu(x gateᵀ) * (x upᵀ)) → [T, H].</summary>
    Tensor FeedForward(Tensor x, FeedForwardWeights weights);

    // ---- lightning indexer --------------------------------------------------------------------------------------

    /// <summary>
    /// Index scores I[t, j] = Σ_h headWeights[t, h] · ReLU(q[t, h]·IndexKeys[j]) for the keys j ≤ position(t) of
    /// row t's segment; −∞ elsewhere. q [T, heads·indexDim] (rotated), headWeights [T, heads] (all scales folded in)
    /// → [T, max KeyCount over segments].
    /// </summary>
    Tensor IndexerScores(Tensor q, Tensor headWeights, int heads, IReadOnlyList<AttentionSegment> segments);

    /// <summary>
    /// Per row, the indices of the min(k, position(t) + 1) largest finite scores (ties → lower index first), then −1s → [T, k].
    /// Only keys a row may see are candidates, so masked keys are never selected.
    /// </summary>
    IndexTensor TopK(Tensor scores, int k, IReadOnlyList<AttentionSegment> segments);

    // ---- MLA attention ------------------------------------------------------------------------------------------

    /// <summary>
    /// Sparse MLA in the absorbed form over the latent cache. q [T, heads·(nope+rope)] with q_pe rotated;
    /// kvB = kv_b_proj [heads·(nope+v), kv_lora]. For row t and head h: q_abs = q_nope · W_k[h], scores over the
    /// selected keys s = (q_abs·c[j] + q_pe·k_pe[j]) · softmaxScale, softmax, o_lat = Σ p c[j], o[h] = o_lat · W_v[h]ᵀ.
    /// <paramref name="selectedKeys"/> [T, k] (−1 = unused slot) or null for dense causal attention → [T, heads·v].
    /// With <paramref name="ropeCos"/>/<paramref name="ropeSin"/> [T, rope/2], q_pe arrives unrotated and is rotated here
    /// (interleaved pairs, row t by table row t), so a backend can fold the rope into its query projection; q is not changed.
    /// </summary>
    Tensor MlaAttention(Tensor q, Tensor kvB, MlaDimensions dims, float softmaxScale, IReadOnlyList<AttentionSegment> segments, IndexTensor? selectedKeys,
        Tensor? ropeCos = null, Tensor? ropeSin = null);

    // ---- mixture of experts -------------------------------------------------------------------------------------

    /// <summary>
    /// noaux_tc routing: s = sigmoid(routerLogits) [T, E]; b = s + bias; keep the settings.KeptGroups groups with the largest
    /// sum of their two best b; choose settings.ExpertsPerToken experts by b among kept groups (others count as 0, as in the
    /// reference); weights = the unbiased s of the chosen, normalized and scaled.
    /// </summary>
    ExpertRouting RouteExperts(Tensor routerLogits, Tensor correctionBias, RouterSettings settings);

    /// <summary>
    /// Σ_k routing.Weights[t, k] · Expert_{routing.Experts[t, k]}(x[t]) (+ shared[t] when given, the shared experts' output) per row → [T, H].
    /// <paramref name="experts"/>[i] is expert <paramref name="firstExpert"/> + i. With expert parallelism a rank holds only a
    /// range of the experts: routed pairs whose expert lies outside it contribute nothing here (another rank adds them).
    /// </summary>
    Tensor MixExperts(Tensor x, ExpertRouting routing, IReadOnlyList<FeedForwardWeights> experts, Tensor? shared = null, int firstExpert = 0);
}
