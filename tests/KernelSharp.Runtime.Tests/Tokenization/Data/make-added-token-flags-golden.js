// Writes added-token-flags.golden.json for added-token-flags.tokenizer.json (the tiny fixture's tokenizer plus added
// tokens using lstrip, rstrip, single_word and normalized) with Hugging Face tokenizers 0.23.2 (Node binding).
// Usage: npm install tokenizers@0.23.2 && node make-added-token-flags-golden.js (from this folder).
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
let seed = 11;
function rnd() { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; }
const frags = ["<L>", "<R>", "cat", "dog", "<LR>", "<L>x", "ab", "b<R", " ", "  ", "\t", "\n", "x", "concat", "cats", "1", "é", "🤖", "<", ">", "a", "b", "\u3000"];
(async () => {
  const path = require('path').join(__dirname, 'added-token-flags.tokenizer.json');
  const tok = Tokenizer.fromFile(path);
  const cases = []; const seen = new Set();
  while (cases.length < 400) {
    let s = ''; const n = 1 + Math.floor(rnd() * 7);
    for (let k = 0; k < n; k++) s += frags[Math.floor(rnd() * frags.length)];
    if (seen.has(s)) continue; seen.add(s);
    const e = await tok.encode(s, null, { addSpecialTokens: false });
    cases.push({ text: s, ids: Array.from(e.getIds()), decoded: await tok.decode(Array.from(e.getIds()), false) });
  }
  fs.writeFileSync(require('path').join(__dirname, 'added-token-flags.golden.json'),
    JSON.stringify({ tokenizer: 'added-token-flags.tokenizer.json', library: 'tokenizers 0.23.2 (node binding)', add_special_tokens: false, cases }, null, 0));
})();
