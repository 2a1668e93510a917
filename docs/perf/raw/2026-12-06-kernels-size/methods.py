"""Methods (name, lines) at a revision; usage: methods.py REV [Name,Name,...]. The method boundaries of twins.py
(kernel_methods): a method's /// comments and [attributes] above it to its closing brace."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twins import kernel_methods

methods = kernel_methods(sys.argv[1])
want = set(sys.argv[2].split(',')) if len(sys.argv) > 2 else None
for f, cls, name, s, e in methods:
    if want is None or name in want: print(f'{cls}.{name} {f.split("Kernels/")[1]}:{s}-{e} ({e-s+1})')
