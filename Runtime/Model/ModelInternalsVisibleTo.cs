using System.Runtime.CompilerServices;

// The model tests reach a few internals (rotary tables, prefill chunk size) that are not part of the public API.
[assembly: InternalsVisibleTo("KernelSharp.Runtime.Tests")]
