// Writes deepseek-random.golden.json with the reference library (Hugging Face tokenizers 0.23.2, Node binding).
// Usage: npm install tokenizers@0.23.2 && node make-random-golden.js ../../../fixtures/deepseek-v3-tokenizer/tokenizer.json deepseek-random.golden.json 1000 2024 0
// (run from this folder; the golden.json path below is read for text fragments).
// Differential reference: random hard strings encoded by HF tokenizers 0.23.2 (node binding).
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const [,, tokPath, outPath, countArg, seedArg, addSpecialArg] = process.argv;
const count = parseInt(countArg), addSpecial = addSpecialArg === '1';
let seed = parseInt(seedArg) >>> 0;
function rnd() { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; }
function pick(a) { return a[Math.floor(rnd() * a.length)]; }
const golden = JSON.parse(fs.readFileSync(require('path').join(__dirname, '../../../fixtures/deepseek-v3-tokenizer/golden.json'), 'utf8')).cases.map(c => c.text).filter(t => t.length);
const ranges = [[0x20,0x7e],[0x00,0x1f],[0x7f,0xff],[0x100,0x24f],[0x300,0x36f],[0x370,0x3ff],[0x400,0x4ff],[0x590,0x5ff],[0x600,0x6ff],[0x900,0x97f],
  [0xe00,0xe7f],[0x1100,0x11ff],[0x2000,0x206f],[0x2070,0x209f],[0x20a0,0x20cf],[0x2100,0x214f],[0x2150,0x218f],[0x2190,0x23ff],[0x2460,0x24ff],[0x2500,0x27bf],
  [0x3000,0x303f],[0x3040,0x30ff],[0x3100,0x31ff],[0x4e00,0x9fff],[0x9fa0,0x9fb0],[0xac00,0xd7a3],[0xe000,0xe0ff],[0xfb00,0xfb4f],[0xfe00,0xfe0f],[0xfe30,0xfe4f],[0xff00,0xffef],[0xfff0,0xfffd],
  [0x10000,0x1007f],[0x10300,0x1034f],[0x1d400,0x1d7ff],[0x1f000,0x1f0ff],[0x1f100,0x1f1ff],[0x1f300,0x1f5ff],[0x1f600,0x1f64f],[0x1f680,0x1f6ff],[0x1f900,0x1f9ff],
  [0x1fa70,0x1faff],[0x20000,0x2a6df],[0xe0000,0xe007f],[0xf0000,0xf00ff],[0x2fa00,0x2fa1f],[0x1d100,0x1d1ff],[0x1e900,0x1e95f]];
const specials = ['<｜begin▁of▁sentence｜>','<｜end▁of▁sentence｜>','<｜User｜>','<｜Assistant｜>','<｜▁pad▁｜>','<|EOT|>','<｜fim▁hole｜>','<｜tool▁sep｜>','<｜place▁holder▁no▁7｜>','<think>','</think>','<s>','</s>','<｜','｜>','<｜User','<|','<unk>','<|endoftext|>'];
const fragments = [' ','  ','   ','\n','\r\n','\t','\u3000','\u00a0','\u200b','\u200d','\ufe0f','\u0301','\r','\n\n',' \n ','\x0b','\x0c','\u2028','\u0085','123','12345678','٣٤٥','１２３','²³','Ⅻ','½','3.14',
  "'s","'t","'re","'ll","'S","’s",'don\'t','a.b','x=y','(',')','...','—','、','。','!!','?!',':)','<div>','#','//','/*','*/','->','=>','::','$x','@y','_z','\\n','"q"','`c`','~','^','ﬁ','Å','é','é','Ω','ß','İ','ǅ'];
function randomCodePoint() {
  const [lo, hi] = pick(ranges);
  let cp = lo + Math.floor(rnd() * (hi - lo + 1));
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
  return String.fromCodePoint(cp);
}
function randomText() {
  let s = '';
  const parts = 1 + Math.floor(rnd() * 12);
  for (let i = 0; i < parts; i++) {
    const r = rnd();
    if (r < 0.35) { let n = 1 + Math.floor(rnd() * 6); while (n--) s += randomCodePoint(); }
    else if (r < 0.6) s += pick(fragments).repeat(rnd() < 0.2 ? 2 + Math.floor(rnd() * 4) : 1);
    else if (r < 0.75) { const g = pick(golden); const a = Math.floor(rnd() * g.length); s += g.slice(a, a + 1 + Math.floor(rnd() * 20)); }
    else if (r < 0.85) s += pick(specials);
    else { let n = 1 + Math.floor(rnd() * 8); const pool = 'abcXYZ 09_-.,;:!?\n\t'; while (n--) s += pool[Math.floor(rnd() * pool.length)]; }
  }
  // drop any lone surrogate produced by slicing golden text
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?');
}
(async () => {
  const tok = Tokenizer.fromFile(tokPath);
  const cases = [];
  for (let i = 0; i < count; i++) {
    const text = randomText();
    const e = await tok.encode(text, null, { addSpecialTokens: addSpecial });
    const ids = Array.from(e.getIds());
    const decoded = await tok.decode(ids, false);
    cases.push({ text, ids, decoded });
  }
  fs.writeFileSync(outPath, JSON.stringify({ tokenizer: tokPath.split('/').slice(-2).join('/'), library: 'tokenizers 0.23.2 (node binding)', add_special_tokens: addSpecial, seed: parseInt(seedArg), cases }));
})();
