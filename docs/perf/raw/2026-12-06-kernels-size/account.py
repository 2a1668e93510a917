"""Kernels/ line accounting by operation group at 440cb3b, bb8ddcd (last fold merged) and HEAD.
# Run from the repository root; reads it with git only. HEAD is pinned to df0c9dd (the HEAD measured).
Lines = wc -l of every Kernels/**/*.cs tracked at the revision (obj/ and bin/ excluded)."""
import re, subprocess, collections, sys
G = lambda *a: subprocess.run(['git', '-C', '.', *a], capture_output=True, text=True).stdout
REVS = ['440cb3b', 'bb8ddcd', 'df0c9dd']
CATS = [  # (group, kind, regex on path below Kernels/)
 ('GEMV: Gemv, GemvRows (+ row-part helpers)', 'folded', r'Linear/(Gemv|GemvWarpRows|GemvRowParts|GemvWarpRowParts|Fp8RowDot|GemvRows)\.cs$'),
 ('GEMM, CUDA-core tiles', 'folded', r'Linear/(Gemm|GemmRowDots|GemmTiles)\.cs$'),
 ('Grouped expert FFN (gate/up, down)', 'folded', r'Moe/(GroupedExpertFfn|ExpertMath|GroupedFfnGateUp|GroupedFfnDown)\.cs$'),
 ('Embedding', 'folded', r'Embedding/Embedding\.cs$'),
 ('MLA attention dense/sparse/split (+ MlaTile, combine)', 'folded', r'Attention/(DenseMla\w*|SparseMla|SparseMlaBf16Cache|SparseMlaSplit|SparseMlaAttention\w*|MlaTile(\.Bf16Cache)?|MlaAttention|MlaKeySource|CombineMlaSplits)\.cs$'),
 ('MLA kv_b projections (AbsorbQuery[Rope], UpProjectOutput)', 'folded', r'Attention/(MlaProjections|AbsorbQuery|AbsorbQueryRope|UpProjectOutput|AbsorbedElement|AbsorbedPartial)\.cs$'),
 ('Indexer scores (+ warp-keys form, IndexerMath)', 'folded', r'Indexer/(IndexerScores|IndexerScoresWarpKeys|IndexerScoresFp8WarpKeys|IndexerMath)\.cs$'),
 ('Format layer (IRowFormat, F32/Bf16/Fp8Block/Fp8RowScaled rows, WarpRows)', 'folded', r'Formats/(IRowFormat|F32Rows|Bf16Rows|Fp8BlockRows|Fp8RowScaledRows|WarpRows|Fp8DecodeTable)\.cs$'),
 ('Tensor-core GEMM bf16/fp8 (+ wide)', 'twins kept', r'Linear/TensorCoreGemm(Wide)?(Bf16|Fp8)?\.cs$'),
 ('Indexer decode fp32/fp8', 'twins kept', r'Indexer/IndexerDecode(Fp8)?\.cs$'),
 ('Index-key stores bf16/fp8', 'twins kept', r'Indexer/(IndexKeyCache|QuantizeIndexKeysFp8|StoreIndexKeysBf16)\.cs$'),
 ('Host (CPU) forms: HostRowDots, GemmTilesCpu, MlaProjectionsHost, RowPartsCpu, HostRowReads', 'new', r'(Linear/HostRowDots|Linear/GemmTilesCpu|Attention/MlaProjectionsHost|Norms/RowPartsCpu|Formats/HostRowReads)\.cs$'),
 ('FP8 latent KV cache: Fp8LatentRows, StoreKvCacheFp8 (+ reference)', 'new', r'(Formats/Fp8LatentRows|Attention/StoreKvCacheFp8(\.Reference)?)\.cs$'),
 ('Paged key lookup: KeyPages (+ reference)', 'new', r'Paging/'),
 ('Warp-heads MLA: MlaAttentionWarpHeads', 'new', r'Attention/MlaAttentionWarpHeads\.cs$'),
 ('Rows-form MoE: GroupedFfnGateUpRows, GroupedFfnDownRows, ExpertItemGroups', 'new', r'Moe/(GroupedFfnGateUpRows|GroupedFfnDownRows|ExpertItemGroups)\.cs$'),
 ('Synthetic weights (+ reference)', 'new', r'Synthetic/'),
 ('Everything else: ops without twins, *.Reference.cs, Testing/', 'other', r'.'),
]
def cat(path):
    p = path.split('Kernels/', 1)[1]
    for name, kind, rx in CATS:
        if re.search(rx, p): return name
lines = {}
for r in REVS:
    d = collections.Counter(); files = collections.defaultdict(list)
    for f in G('ls-tree', '-r', '--name-only', r, 'Kernels').split():
        if not f.endswith('.cs') or '/obj/' in f or '/bin/' in f: continue
        n = G('show', f'{r}:{f}').count('\n'); c = cat(f); d[c] += n; files[c].append(f'{f.split("Kernels/")[1]} {n}')
    lines[r] = (d, files)
aF = set(G('rev-list', 'bb8ddcd').split())
blame = []  # (file, commit) per HEAD line: git blame -w -M -C (moved/copied lines keep their origin)
for f in G('ls-tree', '-r', '--name-only', 'df0c9dd', 'Kernels').split():
    if f.endswith('.cs') and '/obj/' not in f and '/bin/' not in f:
        blame += [(f, l[:40]) for l in G('blame', '-l', '-s', '-w', '-M', '-C', 'df0c9dd', '--', f).splitlines()]
post = collections.Counter(); postc = collections.defaultdict(collections.Counter)
for f, h in blame:
    c = cat(f)
    if h not in aF: post[c] += 1; postc[c][h.lstrip('^')[:7]] += 1
print('| group | kind | 440cb3b | bb8ddcd | HEAD | of HEAD: lines last changed after bb8ddcd |')
print('|---|---|--:|--:|--:|--:|')
tot = collections.Counter()
for name, kind, _ in CATS:
    v = [lines[r][0][name] for r in REVS]
    for r, x in zip(REVS, v): tot[(kind, r)] += x
    print(f'| {name} | {kind} | {v[0]} | {v[1]} | {v[2]} | {post[name]} |')
for kind in ['folded', 'twins kept', 'new', 'other']:
    print(f'| **{kind} total** | | {tot[(kind,"440cb3b")]} | {tot[(kind,"bb8ddcd")]} | {tot[(kind,"df0c9dd")]} | {sum(post[n] for n,k,_ in CATS if k==kind)} |')
print(f'| **Kernels/ total** | | {sum(lines["440cb3b"][0].values())} | {sum(lines["bb8ddcd"][0].values())} | {sum(lines["df0c9dd"][0].values())} | {sum(post.values())} |')
if '-v' in sys.argv:
    for name, kind, _ in CATS:
        print('\n##', name)
        for r in REVS: print(' ', r, '; '.join(lines[r][1][name]))
        if postc[name]:
            print('  post-bb8ddcd lines by commit:', ', '.join(f'{h} {n}' for h, n in postc[name].most_common()))
