using KernelSharp.Runtime.Serving;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Serving;

/// <summary>What the HTTP layer needs once the model is loaded; null in <see cref="OpenAiServer"/> while loading (503).</summary>
/// <param name="StopTokenIds">EOS ids that end every reply.</param>
/// <param name="MaxContext">Positions one sequence may use (prompt + reply); a longer prompt is a 413.</param>
internal sealed record ServerState(ServingEngine Engine, BpeTokenizer Tokenizer, IReadOnlyCollection<int> StopTokenIds, int MaxContext);
