// Checks the exported ONNX files (onnxruntime-node) against the PyTorch references that
// tools/shapes/make.py wrote beside them. Usage: node tools/shapes/verify.mjs [modelsDir]
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const root = process.argv[2] ?? 'models';
const TOL = 1e-4;
let failures = 0;

function tensorFromRef(r) {
  const buf = Buffer.from(r.base64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = r.dtype === 'float32' ? new Float32Array(ab) : new BigInt64Array(ab);
  return new ort.Tensor(r.dtype, data, r.shape);
}
const i64 = (rows) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const flat = (a) => (Array.isArray(a) ? a.flat(Infinity) : [a]);
function maxDiff(a, b) {
  const x = Array.from(a);
  const y = flat(b);
  if (x.length !== y.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
function check(name, d, tol = TOL) {
  const ok = d <= tol;
  if (!ok) failures++;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: max abs diff ${d.toExponential(2)}`);
}
const session = (dir, name) => ort.InferenceSession.create(join(dir, 'onnx', name), { intraOpNumThreads: 1 });

async function verifyClip(dir) {
  console.log(`${dir}`);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const ids = i64(ref.input_ids);
  const am = i64(ref.attention_mask);
  const px = tensorFromRef(ref.pixel_values);
  const text = await session(dir, 'text_model.onnx');
  const t = await text.run({ input_ids: ids, attention_mask: am });
  check('text_model text_embeds', maxDiff(t.text_embeds.data, ref.text_embeds));
  const vision = await session(dir, 'vision_model.onnx');
  const v = await vision.run({ pixel_values: px });
  check('vision_model image_embeds', maxDiff(v.image_embeds.data, ref.image_embeds));
  const full = await session(dir, 'model.onnx');
  const f = await full.run({ input_ids: ids, attention_mask: am, pixel_values: px });
  check('model logits_per_image', maxDiff(f.logits_per_image.data, ref.logits_per_image), 1e-3);
  check('model text_embeds (normalized)', maxDiff(f.text_embeds.data, ref.text_embeds_normalized));
}

async function verifyVlm(dir) {
  console.log(`${dir}`);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const tc = cfg.text_config;
  const vis = await session(dir, 'vision_encoder.onnx');
  const emb = await session(dir, 'embed_tokens.onnx');
  const dec = await session(dir, 'decoder_model_merged.onnx');
  const hasKeep = dec.inputNames.includes('num_logits_to_keep');
  const hidden = tc.hidden_size;
  for (const c of ref.cases) {
    const px = tensorFromRef(ref.pixel_values[c.image]);
    const feats = (
      await vis.run(
        px.dims.length === 4
          ? { pixel_values: px }
          : { pixel_values: px, ...(c.image_sizes ? { image_sizes: i64(c.image_sizes) } : {}) },
      )
    ).image_features;
    const e = (await emb.run({ input_ids: i64([c.input_ids]) })).inputs_embeds;
    const data = new Float32Array(e.data);
    let k = 0;
    c.input_ids.forEach((id, pos) => {
      if (id === ref.image_token_index) {
        data.set(feats.data.subarray(k * hidden, (k + 1) * hidden), pos * hidden);
        k++;
      }
    });
    if (k * hidden !== feats.data.length) {
      failures++;
      console.log(`  FAIL ${c.image}: ${k} image tokens vs ${feats.data.length / hidden} features`);
      continue;
    }
    const embeds = new ort.Tensor('float32', data, [1, c.input_ids.length, hidden]);
    const past = {};
    for (let i = 0; i < tc.num_hidden_layers; i++) {
      for (const kv of ['key', 'value']) {
        past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          tc.num_key_value_heads,
          0,
          tc.head_dim,
        ]);
      }
    }
    let total = c.input_ids.length;
    const positions = [Array.from({ length: total }, (_, i) => i)];
    const generated = [];
    let feeds = {
      inputs_embeds: embeds,
      attention_mask: i64([Array(total).fill(1)]),
      position_ids: i64(positions),
      ...past,
    };
    if (hasKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
    for (let step = 0; step < 16; step++) {
      const o = await dec.run(feeds);
      const V = o.logits.dims[2];
      const last = o.logits.data.subarray(o.logits.data.length - V);
      if (step === 0) {
        check(
          `first-step logits (${c.prompt.replace(/\n/g, ' ').slice(0, 60)}...)`,
          maxDiff(last, c.first_logits),
        );
        if (hasKeep && o.logits.dims[1] !== 1) {
          failures++;
          console.log(`  FAIL num_logits_to_keep=1 gave ${o.logits.dims[1]} positions`);
        }
      }
      let best = 0;
      for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
      generated.push(best);
      if (best === tc.eos_token_id) break;
      const ne = (await emb.run({ input_ids: i64([[best]]) })).inputs_embeds;
      total += 1;
      feeds = {
        inputs_embeds: ne,
        attention_mask: i64([Array(total).fill(1)]),
        position_ids: i64([[total - 1]]),
      };
      if (hasKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
      for (let i = 0; i < tc.num_hidden_layers; i++) {
        feeds[`past_key_values.${i}.key`] = o[`present.${i}.key`];
        feeds[`past_key_values.${i}.value`] = o[`present.${i}.value`];
      }
    }
    const same = JSON.stringify(generated) === JSON.stringify(c.generated_ids);
    if (!same) failures++;
    console.log(
      `  ${same ? 'ok  ' : 'FAIL'} greedy ${JSON.stringify(generated)} vs reference ${JSON.stringify(c.generated_ids)} ("${c.generated_text}")`,
    );
  }
  if (hasKeep) {
    // num_logits_to_keep = 0 keeps every position
    const c = ref.cases[0];
    const n = c.input_ids.length;
    const feeds = {
      inputs_embeds: new ort.Tensor('float32', new Float32Array(n * hidden), [1, n, hidden]),
      attention_mask: i64([Array(n).fill(1)]),
      position_ids: i64([Array.from({ length: n }, (_, i) => i)]),
      num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.from([0n]), []),
    };
    for (let i = 0; i < tc.num_hidden_layers; i++)
      for (const kv of ['key', 'value'])
        feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          tc.num_key_value_heads,
          0,
          tc.head_dim,
        ]);
    const o = await dec.run(feeds);
    const ok = o.logits.dims[1] === n;
    if (!ok) failures++;
    console.log(
      `  ${ok ? 'ok  ' : 'FAIL'} num_logits_to_keep=0 gives all ${o.logits.dims[1]}/${n} positions`,
    );
  }
}

// LLaVA-Next (tools/shapes/llava_next.py): the encoder per tile against the PyTorch tile
// features, then the decoder fed the reference's packed features (packing is the runtime's job
// and is tested through mmrt in test/llava/shapes-llava-next.test.ts).
async function verifyLlavaNext(dir) {
  console.log(`${dir}`);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const tc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).text_config;
  const vis = await session(dir, 'vision_encoder.onnx');
  const emb = await session(dir, 'embed_tokens.onnx');
  const dec = await session(dir, 'decoder_model_merged.onnx');
  const hidden = tc.hidden_size;
  const keep = () => new ort.Tensor('int64', BigInt64Array.from([1n]), []);
  for (const c of ref.cases) {
    const tiles = (await vis.run({ pixel_values: tensorFromRef(c.pixel_values) })).image_features;
    check(
      `vision_encoder ${c.image} (${c.num_tiles} tiles)`,
      maxDiff(tiles.data, Array.from(tensorFromRef(c.tile_features).data)),
    );
    const feats = tensorFromRef(c.image_features).data;
    const data = new Float32Array((await emb.run({ input_ids: i64([c.prompt_ids]) })).inputs_embeds.data);
    let k = 0;
    c.prompt_ids.forEach((id, pos) => {
      if (id === ref.image_token_index) data.set(feats.subarray(k * hidden, ++k * hidden), pos * hidden);
    });
    if (k !== c.num_image_tokens || k * hidden !== feats.length) {
      failures++;
      console.log(`  FAIL ${c.image}: ${k} image tokens vs ${feats.length / hidden} features`);
      continue;
    }
    let total = c.prompt_ids.length;
    let feeds = {
      inputs_embeds: new ort.Tensor('float32', data, [1, total, hidden]),
      attention_mask: i64([Array(total).fill(1)]),
      position_ids: i64([Array.from({ length: total }, (_, i) => i)]),
      num_logits_to_keep: keep(),
    };
    for (let i = 0; i < tc.num_hidden_layers; i++)
      for (const kv of ['key', 'value'])
        feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          tc.num_key_value_heads,
          0,
          tc.head_dim,
        ]);
    const generated = [];
    for (let step = 0; step < 16; step++) {
      const o = await dec.run(feeds);
      const V = o.logits.dims[2];
      const last = o.logits.data.subarray(o.logits.data.length - V);
      if (step === 0)
        check(
          `first-step logits (${c.image}, ${c.num_image_tokens} image tokens)`,
          maxDiff(last, c.first_logits),
        );
      let best = 0;
      for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
      generated.push(best);
      if (best === tc.eos_token_id) break;
      total += 1;
      feeds = {
        inputs_embeds: (await emb.run({ input_ids: i64([[best]]) })).inputs_embeds,
        attention_mask: i64([Array(total).fill(1)]),
        position_ids: i64([[total - 1]]),
        num_logits_to_keep: keep(),
      };
      for (let i = 0; i < tc.num_hidden_layers; i++)
        for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = o[`present.${i}.${kv}`];
    }
    const same = JSON.stringify(generated) === JSON.stringify(c.greedy);
    if (!same) failures++;
    console.log(
      `  ${same ? 'ok  ' : 'FAIL'} greedy ${JSON.stringify(generated)} vs reference ${JSON.stringify(c.greedy)} ("${c.greedy_text}")`,
    );
  }
}

// X-CLIP (tools/shapes/xclip.py): the three graphs chained as mmrt chains them, at 8 frames
// (the trained count) and 4 (the temporal position embedding resampled).
async function verifyXclip(dir) {
  console.log(`${dir}`);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const vision = await session(dir, 'vision_model.onnx');
  const text = await session(dir, 'text_model.onnx');
  const prompts = await session(dir, 'prompts_generator.onnx');
  const t = await text.run({ input_ids: i64(ref.input_ids), attention_mask: i64(ref.attention_mask) });
  for (const c of ref.cases) {
    check(`text_model text_embeds`, maxDiff(t.text_embeds.data, c.text_embeds));
    const v = await vision.run({ pixel_values: tensorFromRef(c.pixel_values) });
    check(`vision_model video_embeds (${c.name})`, maxDiff(v.video_embeds.data, c.video_embeds));
    check(`vision_model video_features (${c.name})`, maxDiff(v.video_features.data, c.video_features));
    const p = await prompts.run({ text_embeds: t.text_embeds, video_features: v.video_features });
    check(
      `prompts_generator conditioned_text_embeds (${c.name})`,
      maxDiff(p.conditioned_text_embeds.data, c.conditioned_text_embeds),
    );
    check('prompts_generator logit_scale', maxDiff(p.logit_scale.data, [c.logit_scale]));
  }
}

// BLIP (tools/shapes/blip_build.py): the vision model against PyTorch's image embeds, the
// question encoder against its states, then greedy decoding with the merged text decoder —
// first step computing the cross-attention keys/values (use_cache_branch false), later steps
// feeding them back — against PyTorch's first logits and tokens.
const emptyKv = (b, heads, d) => new ort.Tensor('float32', new Float32Array(0), [b, heads, 0, d]);
async function greedyBlipDecoder(dec, tc, prompt, states, stateMask) {
  const heads = tc.num_attention_heads;
  const d = tc.hidden_size / heads;
  let total = prompt.length;
  let feeds = {
    input_ids: i64([prompt]),
    attention_mask: i64([Array(total).fill(1)]),
    encoder_hidden_states: states,
    encoder_attention_mask: stateMask,
    use_cache_branch: new ort.Tensor('bool', [false], [1]),
  };
  for (let i = 0; i < tc.num_hidden_layers; i++)
    for (const part of ['decoder', 'encoder'])
      for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${part}.${kv}`] = emptyKv(1, heads, d);
  let cross;
  let first;
  const generated = [];
  for (let step = 0; step < 16; step++) {
    const o = await dec.run(feeds);
    const V = o.logits.dims[2];
    const last = o.logits.data.subarray(o.logits.data.length - V);
    if (step === 0) {
      first = Array.from(last);
      cross = {};
      for (let i = 0; i < tc.num_hidden_layers; i++)
        for (const kv of ['key', 'value'])
          cross[`past_key_values.${i}.encoder.${kv}`] = o[`present.${i}.encoder.${kv}`];
    }
    let best = 0;
    for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
    generated.push(best);
    if (best === tc.sep_token_id) break;
    total += 1;
    feeds = {
      input_ids: i64([[best]]),
      attention_mask: i64([Array(total).fill(1)]),
      encoder_hidden_states: states,
      encoder_attention_mask: stateMask,
      use_cache_branch: new ort.Tensor('bool', [true], [1]),
      ...cross,
    };
    for (let i = 0; i < tc.num_hidden_layers; i++)
      for (const kv of ['key', 'value'])
        feeds[`past_key_values.${i}.decoder.${kv}`] = o[`present.${i}.decoder.${kv}`];
  }
  return { first, generated };
}

function checkGreedy(label, got, c) {
  check(`first-step logits (${label})`, maxDiff(got.first, c.first_logits));
  const same = JSON.stringify(got.generated) === JSON.stringify(c.generated_ids);
  if (!same) failures++;
  console.log(
    `  ${same ? 'ok  ' : 'FAIL'} greedy ${JSON.stringify(got.generated)} vs reference ${JSON.stringify(c.generated_ids)} ("${c.generated_text}")`,
  );
}

async function verifyVisionEmbeds(dir, ref) {
  const vis = await session(dir, 'vision_model.onnx');
  const embeds = {};
  for (const [file, px] of Object.entries(ref.pixel_values)) {
    const e = (await vis.run({ pixel_values: tensorFromRef(px) })).image_embeds;
    check(
      `vision_model image_embeds ${file}`,
      maxDiff(e.data, Array.from(tensorFromRef(ref.image_embeds[file]).data)),
    );
    embeds[file] = e;
  }
  return embeds;
}

async function verifyBlip(dir) {
  console.log(`${dir}`);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const tc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).text_config;
  const embeds = await verifyVisionEmbeds(dir, ref);
  const dec = await session(dir, 'text_decoder_model_merged.onnx');
  const vqa = existsSync(join(dir, 'onnx', 'text_encoder.onnx'));
  const enc = vqa ? await session(dir, 'text_encoder.onnx') : undefined;
  for (const c of ref.cases) {
    const image = embeds[c.image];
    if (!vqa) {
      const mask = i64([Array(image.dims[1]).fill(1)]);
      checkGreedy(
        `${c.image}, prompt ${JSON.stringify(c.prompt)}`,
        await greedyBlipDecoder(dec, tc, c.decoder_input_ids, image, mask),
        c,
      );
      continue;
    }
    const q = i64([c.question_ids]);
    const qm = i64([c.question_ids.map(() => 1)]);
    const states = (await enc.run({ input_ids: q, attention_mask: qm, encoder_hidden_states: image }))
      .last_hidden_state;
    check(
      `text_encoder question states (${c.question})`,
      maxDiff(states.data, Array.from(tensorFromRef(c.question_states).data)),
    );
    checkGreedy(c.question, await greedyBlipDecoder(dec, tc, [ref.bos_token_id], states, qm), c);
  }
}

async function verifyBlip2(dir) {
  console.log(`${dir}`);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const tc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).text_config;
  const embeds = await verifyVisionEmbeds(dir, ref);
  const qformer = await session(dir, 'qformer.onnx');
  const emb = await session(dir, 'embed_tokens.onnx');
  const dec = await session(dir, 'decoder_model_merged.onnx');
  const feats = {};
  for (const [file, e] of Object.entries(embeds)) {
    feats[file] = (await qformer.run({ image_embeds: e })).language_model_inputs;
    check(
      `qformer language_model_inputs ${file}`,
      maxDiff(feats[file].data, Array.from(tensorFromRef(ref.language_model_inputs[file]).data)),
    );
  }
  const hidden = tc.hidden_size;
  const heads = tc.num_attention_heads;
  const keep = () => new ort.Tensor('int64', BigInt64Array.from([1n]), []);
  for (const c of ref.cases) {
    const f = feats[c.image];
    const nq = f.dims[1];
    const text = (await emb.run({ input_ids: i64([c.input_ids]) })).inputs_embeds.data;
    const data = new Float32Array((nq + c.input_ids.length) * hidden);
    data.set(f.data, 0);
    data.set(text, nq * hidden);
    let total = nq + c.input_ids.length;
    let feeds = {
      inputs_embeds: new ort.Tensor('float32', data, [1, total, hidden]),
      attention_mask: i64([Array(total).fill(1)]),
      num_logits_to_keep: keep(),
    };
    for (let i = 0; i < tc.num_hidden_layers; i++)
      for (const kv of ['key', 'value'])
        feeds[`past_key_values.${i}.${kv}`] = emptyKv(1, heads, hidden / heads);
    const got = { first: undefined, generated: [] };
    for (let step = 0; step < 16; step++) {
      const o = await dec.run(feeds);
      const V = o.logits.dims[2];
      const last = o.logits.data.subarray(o.logits.data.length - V);
      if (step === 0) got.first = Array.from(last);
      let best = 0;
      for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
      got.generated.push(best);
      if (best === tc.eos_token_id) break;
      total += 1;
      feeds = {
        inputs_embeds: (await emb.run({ input_ids: i64([[best]]) })).inputs_embeds,
        attention_mask: i64([Array(total).fill(1)]),
        num_logits_to_keep: keep(),
      };
      for (let i = 0; i < tc.num_hidden_layers; i++)
        for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = o[`present.${i}.${kv}`];
    }
    checkGreedy(`${c.image}, prompt ${JSON.stringify(c.prompt)}`, got, c);
  }
}

for (const name of [
  'shapes-clip',
  'shapes-vlm',
  'shapes-llava-next',
  'shapes-xclip',
  'shapes-blip',
  'shapes-blip-vqa',
  'shapes-blip2',
]) {
  const dir = join(root, name);
  if (!existsSync(join(dir, 'reference.json'))) continue;
  if (name === 'shapes-xclip') await verifyXclip(dir);
  else if (name.startsWith('shapes-blip2')) await verifyBlip2(dir);
  else if (name.startsWith('shapes-blip')) await verifyBlip(dir);
  else if (name.includes('clip')) await verifyClip(dir);
  else if (name.includes('llava-next')) await verifyLlavaNext(dir);
  else await verifyVlm(dir);
}
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all ONNX checks passed');
