"""Methods (name, lines) at a revision; usage: methods.py REV [Name,Name,...]. Same method boundaries as twins.py.
Twin families at a revision: every method in Kernels/**/*.cs (not *.Reference.cs) whose name, with the format words
Bf16Cache/Bf16/Fp8/F32/Fp32 removed, is shared by 2+ methods of the same class that differ in those words or in file
(overloads in a *.Bf16Cache.cs partial). A method's lines: its /// comments and [attributes] above it to its closing brace."""
import re, subprocess, sys, collections
rev = sys.argv[1]
git = lambda *a: subprocess.run(['git', '-C', '.', *a], capture_output=True, text=True).stdout
files = [f for f in git('ls-tree', '-r', '--name-only', rev, 'Kernels').split()
         if f.endswith('.cs') and '/obj/' not in f and '/bin/' not in f and not f.endswith('.Reference.cs')]
decl = re.compile(r'^\s*(public|internal|private)\s+(static\s+)?(readonly\s+)?(unsafe\s+)?[\w<>\[\],\. ?]+\s+(\w+)\s*(<[^>]*>)?\s*\(')
FMT = re.compile(r'(Bf16Cache|Bf16|Fp8|F32|Fp32)')
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
want = set(sys.argv[2].split(',')) if len(sys.argv) > 2 else None
for f, cls, name, s, e in methods:
    if want is None or name in want: print(f'{cls}.{name} {f.split("Kernels/")[1]}:{s}-{e} ({e-s+1})')
