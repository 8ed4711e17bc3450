#!/usr/bin/env node
// ort_run.js: runs an ONNX model with onnxruntime (npm onnxruntime-node@1.30.0, installed by
// scripts/onnx/install-ort into build/npm) on named tensors of a safetensors file and writes
// every output by name, as `glia run` does, so that the two compare with `glia run --expect`.
//   node scripts/onnx/ort_run.js MODEL.onnx IN.safetensors OUT.safetensors [--bench N] [--const NAME=V,...]
//   node scripts/onnx/ort_run.js --make-input IN.safetensors NAME:D0,D1,...[:LO:HI][;NAME2:...] [SEED]
// --make-input writes seeded uniform [-1, 1) values (integers in [LO, HI] with :LO:HI; with
// :chirp:RATE, audio-like rows at RATE Hz: a chirp from 200 Hz up to 2 kHz (each row starting at
// another phase), amplitude 0.5, plus uniform noise of 0.02, the input of a voice detector); --bench N also prints the median of N
// timed runs (after 2 warm-up runs) in ms, one thread (intra_op_num_threads = 1) unless
// ORT_THREADS says otherwise. --const NAME=VALUE[,...] feeds int64 scalars (Silero VAD's sr), as
// glia run --const fixes them.
'use strict';
const fs = require('fs');
const path = require('path');

function readSafetensors(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === '__metadata__') continue;
    if (v.dtype !== 'F32') throw new Error(`${file}: tensor ${k} is ${v.dtype}, not F32`);
    const [s, e] = v.data_offsets;
    const data = new Float32Array(b.buffer.slice(b.byteOffset + 8 + n + s, b.byteOffset + 8 + n + e));
    out[k] = { dims: v.shape, data };
  }
  return out;
}

function writeSafetensors(file, tensors) {
  const header = {};
  let off = 0;
  for (const [k, t] of Object.entries(tensors)) {
    const bytes = t.data.length * 4;
    header[k] = { dtype: 'F32', shape: t.dims, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (h.length % 8)) % 8;
  h = Buffer.concat([h, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const parts = [len, h];
  for (const t of Object.values(tensors)) parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length * 4));
  fs.writeFileSync(file, Buffer.concat(parts));
}

function ort() {
  const tries = [path.join(__dirname, '..', '..', 'build', 'npm', 'node_modules', 'onnxruntime-node'), 'onnxruntime-node'];
  for (const t of tries) {
    try { return require(t); } catch (e) { /* next */ }
  }
  throw new Error('onnxruntime-node is not installed (scripts/onnx/install-ort)');
}

async function main() {
  const a = process.argv.slice(2);
  if (a[0] === '--make-input') {
    let seed = Number(a[3] || 1) >>> 0;
    const tensors = {};
    for (const spec of a[2].split(';')) {
      // NAME:DIMS, or NAME:DIMS:LO:HI for integers in [LO, HI] (token ids, sequence lengths)
      const [name, dims, lo, hi] = spec.split(':');
      const shape = dims.split(',').map(Number);
      const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
      for (let i = 0; i < data.length; i++) { // xorshift32: the same file everywhere
        seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
        const u = seed / 4294967296;
        if (lo === 'chirp') { // x(t) = 0.5 sin(2 pi (f0 t + (f1 - f0) t^2 / (2 D))) + noise
          const n = shape[shape.length - 1], rate = Number(hi), D = n / rate, k = i % n, row = (i - k) / n;
          const t = k / rate + row * 0.01, f0 = 200, f1 = 2000;
          data[i] = 0.5 * Math.sin(2 * Math.PI * (f0 * t + (f1 - f0) * t * t / (2 * D))) + 0.02 * (u * 2 - 1);
        } else data[i] = hi === undefined ? u * 2 - 1 : Number(lo) + Math.floor(u * (Number(hi) - Number(lo) + 1));
      }
      tensors[name] = { dims: shape, data };
    }
    writeSafetensors(a[1], tensors);
    return;
  }
  if (a.length < 3) throw new Error('usage: ort_run.js MODEL.onnx IN.safetensors OUT.safetensors [--bench N]');
  const o = ort();
  const threads = Number(process.env.ORT_THREADS || 1);
  const sess = await o.InferenceSession.create(a[0], { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const ins = readSafetensors(a[1]);
  const feeds = {};
  const ci = a.indexOf('--const');
  const consts = {};
  if (ci >= 0) for (const kv of a[ci + 1].split(',')) { const [k, v] = kv.split('='); consts[k] = v; }
  for (const name of sess.inputNames) {
    if (consts[name] !== undefined) {
      feeds[name] = new o.Tensor('int64', BigInt64Array.from([BigInt(consts[name])]), []);
      continue;
    }
    if (!ins[name]) throw new Error(`${a[1]} has no tensor '${name}', an input of ${a[0]}`);
    feeds[name] = new o.Tensor('float32', ins[name].data, ins[name].dims);
  }
  const res = await sess.run(feeds);
  const outs = {};
  for (const name of sess.outputNames) outs[name] = { dims: res[name].dims.map(Number), data: res[name].data };
  writeSafetensors(a[2], outs);
  const bi = a.indexOf('--bench');
  if (bi >= 0) {
    const n = Number(a[bi + 1] || 10), t = [];
    for (let i = 0; i < n + 2; i++) {
      const s = process.hrtime.bigint();
      await sess.run(feeds);
      if (i >= 2) t.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    t.sort((x, y) => x - y);
    console.log(`onnxruntime ${path.basename(a[0])}: median ${t[t.length >> 1].toFixed(3)} ms over ${n} runs, ${threads} thread(s)`);
  }
}
main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
