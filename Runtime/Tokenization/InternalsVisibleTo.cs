using System.Runtime.CompilerServices;

// The tokenizer tests check internal pieces (the pattern engine, the UTF-8 hold-back rule) against independent references.
[assembly: InternalsVisibleTo("KernelSharp.Runtime.Tests")]
