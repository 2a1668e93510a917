"""Twin families at a revision: every method in Kernels/**/*.cs (not *.Reference.cs) whose name, with the format words
Bf16Cache/Bf16/Fp8/F32/Fp32 removed, is shared by 2+ methods of the same class that differ in those words or in file
(overloads in a *.Bf16Cache.cs partial). A method's lines: its /// comments and [attributes] above it to its closing brace."""
import re, subprocess, sys, collections
FMT = re.compile(r'(Bf16Cache|Bf16|Fp8|F32|Fp32)')
def kernel_methods(rev):
    """(file, class, method, first line, last line) of every method in Kernels/**/*.cs at rev (not *.Reference.cs)."""
    git = lambda *a: subprocess.run(['git', '-C', '.', *a], capture_output=True, text=True).stdout
    files = [f for f in git('ls-tree', '-r', '--name-only', rev, 'Kernels').split()
             if f.endswith('.cs') and '/obj/' not in f and '/bin/' not in f and not f.endswith('.Reference.cs')]
    decl = re.compile(r'^\s*(public|internal|private)\s+(static\s+)?(readonly\s+)?(unsafe\s+)?[\w<>\[\],\. ?]+\s+(\w+)\s*(<[^>]*>)?\s*\(')
    methods = []
    for f in files:
        lines = git('show', f'{rev}:{f}').split('\n')
        cls = None
        for i, l in enumerate(lines):
            m = re.search(r'\b(class|struct)\s+(\w+)', l)
            if m and not decl.match(l): cls = m.group(2)
            m = decl.match(l)
            if not m or ' new ' in l or '=' in l.split('(')[0]: continue
            name = m.group(5)
            s = i
            while s > 0 and (lines[s-1].strip().startswith('///') or lines[s-1].strip().startswith('[')): s -= 1
            # end: matching brace, or the ';' of an expression body
            depth, e, seen = 0, i, False
            for j in range(i, len(lines)):
                depth += lines[j].count('{') - lines[j].count('}')
                if '{' in lines[j]: seen = True
                if seen and depth <= 0: e = j; break
                if not seen and lines[j].rstrip().endswith(';'): e = j; break
            methods.append((f, cls, name, s+1, e+1))
    return methods

if __name__ == '__main__':
    rev = sys.argv[1]
    methods = kernel_methods(rev)
    fam = collections.defaultdict(list)
    for f, cls, name, s, e in methods:
        fam[(cls, FMT.sub('', name))].append((f, name, s, e))
    tot = extra = 0
    rows = []
    for (cls, base), ms in fam.items():
        names = {n for _, n, _, _ in ms}; fs = {f for f, _, _, _ in ms}
        if len(ms) < 2 or not (any(FMT.search(n) for n in names) or len(fs) > 1): continue
        if len(names) == 1 and len(fs) == 1: continue  # plain overloads in one file
        sizes = [e - s + 1 for _, _, s, e in ms]
        tot += sum(sizes); extra += sum(sizes) - max(sizes)
        rows.append((sum(sizes), f'{cls}.{base}', sum(sizes) - max(sizes), '; '.join(f'{n} {f.split("Kernels/")[1]}:{s}-{e} ({e-s+1})' for f, n, s, e in ms)))
    for r in sorted(rows, reverse=True): print(f'| {r[1]} | {r[0]} | {r[2]} | {r[3]} |')
    print(f'families {len(rows)} lines {tot} extra(total-largest) {extra}')
