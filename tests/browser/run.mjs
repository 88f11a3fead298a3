// run.mjs: the browser test of web/verify.html. It opens the page from a file:// URL in headless
// Chromium (Debian's `chromium`, driven by playwright-core), feeds it every vector of
// tests/vectors/manifest.json and a set of proofs made here with the trialnotary binary (every
// proof kind and version, NDJSON files, signed and cosigned checkpoints, consistency proofs,
// JSON edge cases), and requires the page to give what `trialnotary verify --json` (and
// `verify-consistency --json`) gives on the same files: the same exit code, the same reason code
// and the same JSON, line for line. It also requires that the page made no request other than
// loading itself, raised no error and broke no Content-Security-Policy rule, and it takes the
// README's screenshots. `--bench` measures instead: proofs per second for a 10,000-line NDJSON
// file in the page and in `trialnotary verify`. `--update-screenshots` writes docs/img/.
//
// Environment: TRIALNOTARY_BIN (default target/release/trialnotary), CHROMIUM (default
// /usr/bin/chromium). Both must exist: the test fails, it never skips. TN_SHOW=<text> prints what
// trialnotary says on the cases whose name contains <text>.

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { pagePath, withCurrentHashes } from './csp.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VECTORS = path.join(ROOT, 'tests/vectors');
const BIN = process.env.TRIALNOTARY_BIN || path.join(ROOT, 'target/release/trialnotary');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = path.join(ROOT, 'target/browser-test');
const BENCH = process.argv.includes('--bench');
const UPDATE_SCREENSHOTS = process.argv.includes('--update-screenshots');

function die(message) {
  console.error(`browser test: ${message}`);
  process.exit(1);
}
if (!fs.existsSync(BIN)) die(`no trialnotary binary at ${BIN}: run \`cargo build --release\` first (or set TRIALNOTARY_BIN)`);
if (!fs.existsSync(CHROMIUM)) die(`no Chromium at ${CHROMIUM}: install Debian's package (\`apt-get install chromium\`) or set CHROMIUM`);
if (withCurrentHashes(fs.readFileSync(pagePath, 'utf8')).changed) {
  die('the CSP of web/verify.html does not name the SHA-256 of its script and style: run `node tests/browser/csp.mjs`');
}
fs.mkdirSync(OUT, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-browser-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the binary; {code, stdout, stderr}. */
function cli(args, cwd) {
  const r = spawnSync(BIN, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function tn(args, cwd) {
  const r = cli(args, cwd);
  if (r.code !== 0) throw new Error(`trialnotary ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

// --- Cases ------------------------------------------------------------------------------------
// A case: the files of one `verify` run in a directory of their own, named as the page sees them
// (by their base name), so that messages naming a file are the same in both verifiers.

let caseCount = 0;
function caseDir() {
  const dir = path.join(tmp, `case-${++caseCount}`);
  fs.mkdirSync(dir);
  return dir;
}

/** The manifest's vectors. Options the page has no field for fail the test here. */
function manifestCases() {
  const manifest = JSON.parse(fs.readFileSync(path.join(VECTORS, 'manifest.json'), 'utf8'));
  if (manifest.length < 75) die(`the manifest lists ${manifest.length} vectors, expected at least 75`);
  return manifest.map((v) => {
    const dir = caseDir();
    const place = (rel) => {
      const name = path.basename(rel);
      const from = path.join(VECTORS, rel);
      // A file the manifest names but that does not exist is the unreadable-input case: the page
      // is given a file that disappears after it was chosen.
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(dir, name));
      return name;
    };
    const c = { name: `${v.file} ${v.args.join(' ')}`, dir, proof: place(v.file), files: {}, expect: v };
    for (let i = 0; i < v.args.length; i++) {
      const a = v.args[i];
      if (a === '--self-contained') c.selfContained = true;
      else if (a === '--tip') c.tip = v.args[++i];
      else if (a === '--min-difficulty') c.min = v.args[++i];
      else if (['--chain', '--trust', '--checkpoint'].includes(a)) c.files[a.slice(2)] = place(v.args[++i]);
      else die(`manifest vector ${v.file}: the page has no field for ${a}; give it one, then teach this test`);
    }
    return c;
  });
}

/** A store made here: two blocks, a sponsor key and a witness, proofs of every kind. */
function generated() {
  const g = path.join(tmp, 'gen');
  fs.mkdirSync(g);
  const sub = path.join(g, 'sub');
  fs.cpSync(path.join(ROOT, 'fixtures/tnstudy01'), sub, { recursive: true });
  fs.mkdirSync(path.join(sub, 'm5'));
  fs.writeFileSync(path.join(sub, 'm5/define.xml'), '<define/>\n');
  fs.writeFileSync(path.join(sub, 'readme.txt'), 'notes\n');
  const store = ['--store', 'S'];
  const logKey = tn(['key', 'generate', '--name', 'sponsor.example/WEB', ...store], g).split('\n')[0];
  const witnessKey = tn(['key', 'generate', '--witness', '--name', 'witness.example', '-o', 'w.key'], g).split('\n')[0];
  tn(['notarize', 'sub', ...store, '--difficulty', '8'], g);
  fs.copyFileSync(path.join(g, 'S/checkpoints/0.note'), path.join(g, 'cp0.note'));
  tn(['witness', 'cosign', '--key', 'w.key', '--checkpoint', 'cp0.note', '--log-key', logKey, '--state', 'w.state', '-o', 'cp0c.note'], g);
  fs.appendFileSync(path.join(sub, 'readme.txt'), 'more notes\n');
  tn(['notarize', 'sub', ...store, '--difficulty', '8'], g);
  tn(['chain', 'consistency', ...store, '--from', 'cp0.note', '-o', 'c.json'], g);
  tn(['chain', 'consistency', ...store, '--from', 'cp0c.note', '-o', 'c0c.json'], g);
  tn(['witness', 'cosign', '--key', 'w.key', '--checkpoint', 'S/checkpoints/1.note', '--log-key', logKey,
    '--state', 'w.state', '--consistency', 'c0c.json', '-o', 'cp1c.note'], g);
  tn(['chain', 'consistency', ...store, '--from', 'cp0c.note', '--to', 'cp1c.note', '-o', 'cc.json'], g);
  fs.writeFileSync(path.join(g, 'trust.txt'), `# made by the browser test\nlog ${logKey}\nwitness ${witnessKey}\nwitnesses 1\nmin-difficulty 8\n`);
  fs.writeFileSync(path.join(g, 'trust-0.txt'), `log ${logKey}\n`);
  // Witness keys with a correct id whose 32 bytes are y = 2 (no point of edwards25519 has it:
  // ed25519-dalek refuses the store) and y = 3 (a point): Web Crypto imports both.
  for (const y of [2, 3]) {
    const publicKey = Buffer.alloc(33);
    [publicKey[0], publicKey[1]] = [4, y];
    const name = `y${y}.example`;
    const id = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), publicKey])).digest('hex').slice(0, 8);
    fs.writeFileSync(path.join(g, `trust-y${y}.txt`), `log ${logKey}\nwitness ${name}+${id}+${publicKey.toString('base64')}\n`);
  }
  const prove = (out, ...args) => tn(['prove', ...store, '--submission', 'sub', ...args, '-o', out], g);
  prove('rec.json', '--dataset', 'dm', '--row', '3');
  prove('rec0.json', '--dataset', 'dm', '--row', '3', '--height', '0');
  prove('lb.ndjson', '--dataset', 'lb', '--all-rows');
  prove('ae.json', '--dataset', 'ae');
  prove('ae-salts.json', '--dataset', 'ae', '--with-salts');
  prove('doc.json', '--file', 'm5/define.xml');
  prove('sub.json');
  const tip1 = JSON.parse(fs.readFileSync(path.join(g, 'rec.json'), 'utf8')).block.hash;
  const tip0 = JSON.parse(fs.readFileSync(path.join(g, 'rec0.json'), 'utf8')).block.hash;

  // Variants written here: tampered, reshaped and hostile copies.
  const read = (f) => fs.readFileSync(path.join(g, f), 'utf8');
  const json = (f) => JSON.parse(read(f));
  const write = (f, text) => fs.writeFileSync(path.join(g, f), text);
  const edit = (f, to, change) => { const p = json(f); change(p); write(to, JSON.stringify(p, null, 2)); };
  edit('doc.json', 'doc-tampered.json', (p) => { p.document.bytes += 1; });
  edit('doc.json', 'doc-v2.json', (p) => { p.version = 2; });
  edit('sub.json', 'sub-tampered.json', (p) => { p.submission.records += 1; });
  edit('ae-salts.json', 'ae-leaf.json', (p) => { p.leaves[4] = p.leaves[5]; });
  edit('ae-salts.json', 'ae-salts-short.json', (p) => { p.salts.pop(); p.leaves.pop(); });
  edit('rec.json', 'rec-unicode.json', (p) => { p.record.values[1] = 'Ünïcode \u2028 "q"\t\\'; });
  edit('rec.json', 'rec-v4.json', (p) => { p.version = 4; });
  edit('rec.json', 'rec-huge-rows.json', (p) => { p.dataset.rows = 2 ** 53; });
  edit('rec.json', 'rec-no-checkpoint.json', (p) => { delete p.checkpoint; });
  // Checkpoints whose base64 the Rust base64 crate refuses, each way (its messages are compared).
  const sigLine = (p) => p.checkpoint.split('\n').findIndex((l) => l.startsWith('\u2014 '));
  const editNote = (to, change) => edit('rec.json', to, (p) => {
    const lines = p.checkpoint.split('\n'), k = sigLine(p);
    lines[k] = change(lines[k]);
    p.checkpoint = lines.join('\n');
  });
  const inSignature = (at, c) => (l) => l.replace(/ (\S+)$/, (_, b) => ` ${b.slice(0, at)}${c}${b.slice(at + 1)}`);
  editNote('note-symbol.json', inSignature(5, '!'));
  editNote('note-padding.json', (l) => l.replace(/=$/, ''));
  editNote('note-last-symbol.json', (l) => l.replace(/(.)=$/, (_, c) => (c === 'B' ? 'C' : 'B') + '='));
  editNote('note-pad-inside.json', inSignature(6, '='));
  editNote('note-pad-early.json', (l) => l.replace(/(\S)(\S)=$/, '$1=$2'));
  editNote('note-short.json', (l) => l.replace(/ \S+$/, ' AAAA'));
  edit('rec.json', 'note-root.json', (p) => { p.checkpoint = p.checkpoint.replace(/\n([A-Za-z0-9+/]{43})=\n/, '\n$1\n'); });
  edit('rec.json', 'note-size.json', (p) => { p.checkpoint = p.checkpoint.replace(/\n(\d+)\n/, '\n0$1\n'); });
  const order = ['format', 'version', 'kind', 'record', 'dataset', 'document', 'salts', 'leaves', 'submission', 'steps', 'block', 'checkpoint'];
  const p = json('rec.json');
  // serde's derive would read a struct from an array of its fields and an enum's unit variant
  // from {"name": null}; both verifiers refuse these second spellings.
  write('rec-array.json', JSON.stringify(order.map((k) => (k in p ? p[k] : null))));
  write('rec-enum-map.json', JSON.stringify({ ...p, kind: { record: null } }));
  write('rec-step-enum-map.json', JSON.stringify({ ...p, steps: p.steps.map((t) => ({ ...t, tree: { [t.tree]: null } })) }));
  write('rec-block-array.json', JSON.stringify({ ...p, block: Object.values(p.block) }));
  write('rec-steps-arrays.json', JSON.stringify({ ...p, steps: p.steps.map((t) => Object.values(t)) }));
  const compact = JSON.stringify(p);
  write('rec-duplicate.json', compact.slice(0, -1) + ',"kind":"record"}');
  write('rec-neg0.json', compact.replace('"row":3', '"row":-0'));
  write('rec-float.json', compact.replace('"row":3', '"row":3.0'));
  write('rec-bigint.json', compact.replace('"row":3', '"row":18446744073709551616'));
  write('rec-1e16.json', compact.replace('"row":3', '"row":1e16'));
  write('rec-1e-6.json', compact.replace('"row":3', '"row":-1e-6'));
  write('rec-surrogate.json', compact.replace('"sub"', '"\\ud800"'));
  write('rec-pair.json', compact.replace('"F"', '"\\ud83d\\ude00"'));
  write('rec-bom.json', '\ufeff' + compact);
  write('rec-deep.json', '['.repeat(200) + ']'.repeat(200));
  write('rec-trailing.json', read('rec.json') + '\n\f\n');
  // NDJSON: CRLF line ends, blank lines, a tampered line, a proof of another chain, unusable lines.
  const lines = read('lb.ndjson').trim().split('\n').slice(0, 12);
  const tampered = JSON.parse(lines[2]);
  tampered.record.values[4] = tampered.record.values[4] + '0';
  const mixed = [lines[0], '', lines[1], JSON.stringify(tampered), '   ', fs.readFileSync(path.join(VECTORS, 'good-record.json'), 'utf8').replace(/\n\s*/g, ''), ...lines.slice(3)];
  write('mixed-invalid.ndjson', mixed.join('\r\n') + '\r\n');
  write('mixed-unusable.ndjson', [...mixed.slice(0, 4), 'not json', '{"format":"trialnotary-proof","version":9}', ...mixed.slice(4)].join('\n'));
  write('one-line.ndjson', lines[0] + '\n\n');
  write('empty.json', '\n \r\n');

  const cases = [];
  const add = (proof, files = {}, opts = {}) => {
    const dir = caseDir();
    for (const f of [proof, ...Object.values(files)]) fs.copyFileSync(path.join(g, f), path.join(dir, path.basename(f)));
    const names = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, path.basename(f)]));
    cases.push({ name: `generated ${proof} ${JSON.stringify({ ...files, ...opts })}`, dir, proof, files: names, ...opts });
  };
  const chain = { chain: 'S/chain.tnc' };
  const trusted = { trust: 'trust.txt', checkpoint: 'cp1c.note' };
  for (const proof of ['rec.json', 'ae.json', 'ae-salts.json', 'doc.json', 'sub.json', 'rec-array.json', 'rec-enum-map.json', 'rec-step-enum-map.json', 'rec-block-array.json', 'rec-steps-arrays.json', 'rec-unicode.json', 'rec-pair.json', 'rec-trailing.json']) {
    add(proof, chain);
    add(proof, trusted);
  }
  add('rec.json', { ...chain, ...trusted });
  add('rec.json', {}, { tip: tip1 });
  add('rec.json', {}, { selfContained: true });
  add('rec.json', {});
  add('rec.json', chain, { tip: tip1, min: '9' });
  add('rec0.json', chain, { tip: tip1 });
  add('rec0.json', {}, { tip: tip1 });
  add('rec0.json', trusted);
  add('rec0.json', { ...chain, ...trusted });
  add('rec0.json', { ...chain, trust: 'trust.txt', checkpoint: 'cp0c.note' });
  add('rec.json', { trust: 'trust.txt' });
  add('rec.json', { trust: 'trust-0.txt' });
  add('rec.json', { trust: 'trust-y2.txt' });
  add('rec.json', { trust: 'trust-y3.txt' });
  add('rec-no-checkpoint.json', { trust: 'trust-0.txt' });
  add('rec.json', { ...chain, checkpoint: 'cp0.note' });
  for (const proof of ['note-symbol.json', 'note-padding.json', 'note-last-symbol.json', 'note-pad-inside.json', 'note-pad-early.json', 'note-short.json', 'note-root.json', 'note-size.json']) {
    add(proof, chain);
    add(proof, { trust: 'trust-0.txt' });
  }
  for (const proof of ['doc-tampered.json', 'doc-v2.json', 'sub-tampered.json', 'ae-leaf.json', 'ae-salts-short.json',
    'rec-v4.json', 'rec-huge-rows.json', 'rec-duplicate.json', 'rec-neg0.json', 'rec-float.json', 'rec-bigint.json',
    'rec-1e16.json', 'rec-1e-6.json',
    'rec-surrogate.json', 'rec-bom.json', 'rec-deep.json', 'empty.json']) {
    add(proof, chain);
  }
  add('lb.ndjson', chain);
  add('lb.ndjson', trusted);
  add('mixed-invalid.ndjson', chain);
  add('mixed-unusable.ndjson', chain);
  add('one-line.ndjson', chain);

  // Consistency proofs, checked as `verify-consistency` does.
  edit('c.json', 'c-tampered.json', (q) => { q.headers[0] = q.headers[0].replace(/.$/, (d) => (d === '0' ? '1' : '0')); });
  edit('cc.json', 'cc-upper.json', (q) => { q.headers[0] = '0X' + q.headers[0].toUpperCase(); });
  edit('cc.json', 'cc-swapped.json', (q) => { [q.from, q.to] = [q.to, q.from]; });
  edit('c.json', 'c-short.json', (q) => { q.headers.pop(); });
  edit('c.json', 'c-v2.json', (q) => { q.version = 2; });
  write('c-not-json.json', '{"format": "trialnotary-consistency",');
  write('trust-bad.txt', 'log nobody\n');
  const consistency = [];
  const addConsistency = (proof, trust) => {
    const dir = caseDir();
    for (const f of [proof, trust].filter(Boolean)) fs.copyFileSync(path.join(g, f), path.join(dir, f));
    consistency.push({ name: `consistency ${proof} ${trust || ''}`, dir, consistency: proof, files: trust ? { trust } : {} });
  };
  for (const proof of ['c.json', 'cc.json', 'c-tampered.json', 'cc-upper.json', 'cc-swapped.json', 'c-short.json', 'c-v2.json', 'c-not-json.json']) {
    addConsistency(proof);
    addConsistency(proof, 'trust.txt');
  }
  addConsistency('cc.json', 'trust-bad.txt');
  return { cases, consistency };
}

// --- The page and the binary on one case ------------------------------------------------------

const pageUrl = pathToFileURL(pagePath).href;

async function openPage(page) {
  await page.goto(pageUrl);
  if (!page.url().startsWith('file://')) die(`the page is not at a file:// URL: ${page.url()}`);
}

/** Chooses the case's files and options in the page, as a reviewer would, and clicks Verify. */
async function runInPage(page, c) {
  await openPage(page);
  const gone = [];
  const choose = async (selector, name) => {
    const file = path.join(c.dir, name);
    if (!fs.existsSync(file)) {
      fs.writeFileSync(file, '');
      gone.push(file);
    }
    await page.setInputFiles(selector, file);
  };
  if (c.proof) await choose('#proof-file', c.proof);
  if (c.consistency) await choose('#consistency-file', c.consistency);
  for (const [role, name] of Object.entries(c.files)) await choose(`#${role}-file`, name);
  if (c.tip !== undefined) await page.fill('#tip', c.tip);
  if (c.min !== undefined) await page.fill('#min-difficulty', c.min);
  if (c.selfContained) await page.check('#self-contained');
  // A file that disappears after it was chosen is one the page cannot read.
  for (const f of gone) fs.rmSync(f);
  await page.click('#verify');
  await page.waitForSelector('#result[data-state=done]', { state: 'attached', timeout: 600000 });
  const box = c.consistency ? '#consistency-result' : '#result';
  return {
    exit: await page.getAttribute(box, 'data-exit'),
    stdout: await page.textContent(c.consistency ? '#consistency-json' : '#json'),
    said: await page.textContent(c.consistency ? '#consistency-reason' : '#reason'),
    ms: Number(await page.getAttribute('#result', 'data-ms')),
  };
}

function cliArgs(c) {
  if (c.consistency) return ['verify-consistency', c.consistency, ...(c.files.trust ? ['--trust', c.files.trust] : []), '--json'];
  const args = ['verify', c.proof];
  for (const [role, name] of Object.entries(c.files)) args.push(`--${role}`, name);
  if (c.tip !== undefined) args.push('--tip', c.tip);
  if (c.min !== undefined) args.push('--min-difficulty', c.min);
  if (c.selfContained) args.push('--self-contained');
  return [...args, '--json'];
}

/** What may differ: serde_json's position suffix (the page names no line and column of a
 *  malformed field), the verifier's clock, and the operating system's words for a missing file. */
function normalize(line) {
  const v = JSON.parse(line);
  if (typeof v.reason === 'string') {
    v.reason = v.reason.replace(/ at line \d+ column \d+/g, '').replace(/verifier's clock \(\d+\)/, "verifier's clock (now)");
    if (v.code === 'unreadable-input') v.reason = v.reason.replace(/^(cannot read .*?: ).*$/, '$1(the reason the system gives)');
  }
  return JSON.stringify(v);
}

/** Compares the page with the binary on one case; a list of disagreements. */
function compare(c, page, bin) {
  const out = [];
  if (String(bin.code) !== page.exit) out.push(`exit: trialnotary ${bin.code}, page ${page.exit}`);
  if (c.consistency) {
    // verify-consistency prints one JSON object (pretty), for unusable input (exit 2) too.
    const parse = (s) => { try { return JSON.parse(s); } catch { return { code: `(no JSON: ${JSON.stringify(s)})` }; } };
    const [x, y] = [bin.stdout, page.stdout].map(parse);
    if (!bin.stdout.trim()) out.push('verify-consistency --json printed no JSON');
    if (x.code !== y.code) out.push(`code ${x.code} from trialnotary, ${y.code} from the page`);
    else if (bin.stdout.trim() && normalize(bin.stdout) !== normalize(page.stdout)) out.push(`JSON:\n  trialnotary ${bin.stdout}\n  page        ${page.stdout}`);
    const position = (s) => s.replace(/ at line \d+ column \d+/g, '').trim();
    if (bin.code === 2 && !position(bin.stderr).includes(position(page.said))) out.push(`reason: trialnotary ${bin.stderr.trim()}\n  page ${page.said}`);
    return out;
  }
  const a = bin.stdout.trim().split('\n'), b = page.stdout.trim().split('\n');
  if (a.length !== b.length) out.push(`${a.length} JSON lines from trialnotary, ${b.length} from the page`);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = JSON.parse(a[i]), y = JSON.parse(b[i]);
    if (x.code !== y.code) out.push(`line ${i + 1}: code ${x.code} from trialnotary, ${y.code} from the page`);
    else if (normalize(a[i]) !== normalize(b[i])) out.push(`line ${i + 1} differs:\n  trialnotary ${a[i]}\n  page        ${b[i]}`);
  }
  const v = c.expect;
  if (v) {
    if (Number(page.exit) !== v.exit) out.push(`the manifest says exit ${v.exit}, the page gave ${page.exit}`);
    if (v.code && !b.some((l) => JSON.parse(l).code === v.code)) out.push(`the manifest's code ${v.code} is not in the page's JSON`);
    if (!(page.stdout + page.said).includes(v.reason)) out.push(`the manifest's reason ${JSON.stringify(v.reason)} is not in what the page says`);
  }
  return out;
}

// --- Benchmark ----------------------------------------------------------------------------------

async function bench(page) {
  const dir = path.join(tmp, 'bench');
  fs.mkdirSync(dir);
  // LB has about 235 rows a subject: 48 subjects give more than 10,000.
  tn(['generate', '-o', 'study', '--subjects', '48', '--domains', 'dm,lb'], dir);
  tn(['notarize', 'study', '--store', 'S', '--difficulty', '8'], dir);
  tn(['prove', '--store', 'S', '--submission', 'study', '--dataset', 'lb', '--all-rows', '-o', 'all.ndjson'], dir);
  const all = fs.readFileSync(path.join(dir, 'all.ndjson'), 'utf8').split('\n').filter((l) => l);
  if (all.length < 10000) die(`the bench study has ${all.length} LB rows, fewer than 10,000`);
  fs.writeFileSync(path.join(dir, 'bench.ndjson'), all.slice(0, 10000).join('\n') + '\n');
  fs.copyFileSync(path.join(dir, 'S/chain.tnc'), path.join(dir, 'chain.tnc'));
  const c = { name: 'bench', dir, proof: 'bench.ndjson', files: { chain: 'chain.tnc' } };
  const runs = 5;
  let pageBest = Infinity, cliBest = Infinity;
  for (let i = 0; i < runs; i++) {
    const r = await runInPage(page, c);
    if (r.exit !== '0') die(`bench: the page says exit ${r.exit}`);
    pageBest = Math.min(pageBest, r.ms);
    const t = process.hrtime.bigint();
    const b = cli(['verify', 'bench.ndjson', '--chain', 'chain.tnc'], dir);
    cliBest = Math.min(cliBest, Number(process.hrtime.bigint() - t) / 1e6);
    if (b.code !== 0) die(`bench: trialnotary verify exits ${b.code}`);
  }
  const rate = (ms) => Math.round(10000 / (ms / 1000)).toLocaleString('en');
  console.log(`bench: 10,000-line NDJSON of record proofs (LB, ${all.length} rows), best of ${runs}`);
  console.log(`  page (headless Chromium ${browserVersion}): ${(pageBest / 1000).toFixed(3)} s, ${rate(pageBest)} proofs/s`);
  console.log(`  trialnotary verify --chain:              ${(cliBest / 1000).toFixed(3)} s, ${rate(cliBest)} proofs/s`);
}

// --- Main ---------------------------------------------------------------------------------------

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
const browserVersion = browser.version();
const context = await browser.newContext({ viewport: { width: 960, height: 900 }, deviceScaleFactor: 1 });
const requests = [];
context.on('request', (r) => requests.push(r.url()));
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') pageErrors.push(`console ${m.type()}: ${m.text()}`); });

if (BENCH) {
  await bench(page);
  await browser.close();
  process.exit(0);
}

const { cases, consistency } = generated();
const all = [...manifestCases(), ...cases, ...consistency];
const failures = [];
let agreeing = 0;
for (const c of all) {
  const shown = await runInPage(page, c);
  const bin = cli(cliArgs(c), c.dir);
  const diffs = compare(c, shown, bin);
  if (process.env.TN_SHOW && c.name.includes(process.env.TN_SHOW)) console.log(`${c.name}\n  ${bin.stdout.trim()}`);
  if (diffs.length) failures.push(`${c.name}:\n  ${diffs.join('\n  ')}`);
  else agreeing++;
}

// Files dropped on the page, as a reviewer drags them from a file manager, give the same verdict.
{
  const c = { dir: VECTORS, proof: 'good-record.json', files: { chain: 'chain.tnc' } };
  await openPage(page);
  for (const [role, name] of [['proof', c.proof], ['chain', c.files.chain]]) {
    const bytes = [...fs.readFileSync(path.join(VECTORS, name))];
    const dataTransfer = await page.evaluateHandle(([b, n]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], n));
      return dt;
    }, [bytes, name]);
    await page.dispatchEvent(`#${role}-drop`, 'drop', { dataTransfer });
  }
  await page.click('#verify');
  await page.waitForSelector('#result[data-state=done]', { state: 'attached' });
  const dropped = { exit: await page.getAttribute('#result', 'data-exit'), stdout: await page.textContent('#json'), said: await page.textContent('#reason') };
  const diffs = compare(c, dropped, cli(cliArgs(c), VECTORS));
  all.push(c);
  if (diffs.length || dropped.exit !== '0') failures.push(`files dropped on the page:\n  exit ${dropped.exit}\n  ${diffs.join('\n  ')}`);
  else agreeing++;
}

// Without Web Crypto (as over plain HTTP) the page says why it cannot verify, and offers no button.
{
  const bare = await context.newPage();
  await bare.addInitScript(() => Object.defineProperty(globalThis, 'crypto', { value: undefined }));
  await bare.goto(pageUrl);
  const said = await bare.textContent('#progress');
  if (!(await bare.isDisabled('#verify')) || !said.includes('no Web Crypto')) failures.push(`without Web Crypto the page says ${JSON.stringify(said)}`);
  await bare.close();
}

// The README's screenshots: a valid proof under a trust store, and a rejected one.
const shots = [
  ['verify-valid.png', { dir: path.join(VECTORS, 'signed'), proof: 'good-record.json', files: { trust: 'trust.txt' } }],
  ['verify-rejected.png', { dir: path.join(VECTORS), proof: 'broken/value-changed.json', files: { chain: 'chain.tnc' } }],
];
await page.setViewportSize({ width: 760, height: 900 });
for (const [name, c] of shots) {
  await runInPage(page, c);
  // The verdict, the checks and the record, down to the record's table: small enough to commit.
  const top = await page.locator('#result').boundingBox(), end = await page.locator('#record').boundingBox();
  await page.screenshot({ path: path.join(OUT, name), fullPage: true,
    clip: { x: top.x, y: top.y, width: top.width, height: end.y + end.height + 12 - top.y } });
  if (UPDATE_SCREENSHOTS) fs.copyFileSync(path.join(OUT, name), path.join(ROOT, 'docs/img', name));
}

// Nothing but the page itself may have been requested.
const foreign = requests.filter((u) => u !== pageUrl);
if (foreign.length) failures.push(`the page made requests other than loading itself:\n  ${[...new Set(foreign)].join('\n  ')}`);
if (requests.length === 0) failures.push('no request was recorded at all: the request log does not work');
if (pageErrors.length) failures.push(`the page reported errors:\n  ${[...new Set(pageErrors)].join('\n  ')}`);
await browser.close();

console.log(`browser test: ${agreeing} of ${all.length} cases agree with trialnotary (${all.length - cases.length - consistency.length - 1} manifest vectors, ` +
  `${cases.length} generated proofs, ${consistency.length} consistency proofs, 1 drag and drop) in Chromium ${browserVersion}; ` +
  `${requests.length} requests, all for the page itself; screenshots in ${path.relative(ROOT, OUT)}/`);
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n\n${failures.join('\n\n')}`);
  process.exit(1);
}
