/**
 * The model's own chat template (Jinja, from tokenizer_config.json or the processor's files),
 * rendered with @huggingface/jinja and the variables Hugging Face passes: messages,
 * add_generation_prompt and the special tokens as strings.
 */
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { InputError, type MmrtError, ModelPackageError } from '../../errors.js';
import type { Json, ModelPackage } from '../../package/describe.js';
import type { TemplateMessage } from './messages.js';

/** Elements `range()` may hand out in one render: far above any real template's needs. */
export const RANGE_BUDGET = 100_000;
/** Characters a rendered prompt may have: far above any model's context. */
export const OUTPUT_LIMIT = 4 * 1024 * 1024;

function templateError(message: string, kind: 'limit' | 'raised' = 'limit'): MmrtError {
  return kind === 'raised'
    ? new InputError('INPUT_INVALID', message, { value: 'messages', source: 'chat_template' })
    : new ModelPackageError('MODEL_CONFIG_INVALID', message, { value: 'chat_template' });
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** `strftime_now(format)` as Hugging Face templates use it (dates in prompts): the common directives. */
function strftimeNow(format: unknown): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const map: Record<string, string> = {
    Y: String(d.getFullYear()),
    m: pad(d.getMonth() + 1),
    d: pad(d.getDate()),
    B: MONTHS[d.getMonth()]!,
    b: MONTHS[d.getMonth()]!.slice(0, 3),
    H: pad(d.getHours()),
    M: pad(d.getMinutes()),
    S: pad(d.getSeconds()),
    '%': '%',
  };
  return String(format).replace(/%([YmdBbHMS%])/g, (_, c: string) => map[c]!);
}

export class ChatTemplate {
  private readonly template: Template;
  private readonly specials: Record<string, string>;

  constructor(
    readonly source: string,
    tokenizerConfig: Json,
  ) {
    this.template = new Template(source);
    this.specials = {};
    for (const key of [
      'bos_token',
      'eos_token',
      'pad_token',
      'unk_token',
      'sep_token',
      'cls_token',
      'mask_token',
    ]) {
      const v = tokenizerConfig[key];
      const s =
        typeof v === 'string'
          ? v
          : typeof (v as Json | undefined)?.content === 'string'
            ? ((v as Json).content as string)
            : undefined;
      if (s !== undefined) this.specials[key] = s;
    }
  }

  /**
   * Render in a sandbox: a template comes from the model package, so it is bounded. `range`
   * is replaced by one that counts every element it hands out (at most RANGE_BUDGET per
   * render: `range(10**9)` or nested loops are refused before they run), `raise_exception`
   * becomes a typed error with the template's message, runaway recursion and an output over
   * OUTPUT_LIMIT characters are typed errors too.
   */
  render(messages: readonly TemplateMessage[], addGenerationPrompt = true): string {
    let budget = RANGE_BUDGET;
    const range = (a: unknown, b?: unknown, step: unknown = 1) => {
      const [start, end] = b === undefined ? [0, Number(a)] : [Number(a), Number(b)];
      const by = Number(step);
      if (![start, end, by].every(Number.isFinite) || by === 0)
        throw templateError('range() arguments must be finite numbers, step not 0');
      const n = Math.max(0, Math.ceil((end - start) / by));
      budget -= n;
      if (budget < 0) throw templateError(`the template loops over more than ${RANGE_BUDGET} range() items`);
      return Array.from({ length: n }, (_, i) => start + i * by);
    };
    const raise_exception = (message: unknown) => {
      throw templateError(`the chat template refused these messages: ${String(message)}`, 'raised');
    };
    let out: string;
    try {
      // Template.render would declare its own range and raise_exception; the same globals are
      // declared here with ours in their place.
      const env = new Environment();
      const vars: Record<string, unknown> = {
        false: false,
        true: true,
        none: null,
        False: false,
        True: true,
        None: null,
        strftime_now: strftimeNow,
        range,
        raise_exception,
        ...this.specials,
        messages,
        add_generation_prompt: addGenerationPrompt,
      };
      for (const [k, v] of Object.entries(vars)) env.set(k, v);
      out = String(new Interpreter(env).run(this.template.parsed).value);
    } catch (e) {
      if (e instanceof InputError || e instanceof ModelPackageError) throw e;
      const why =
        e instanceof RangeError ? 'it recursed too deep or built a string too long' : (e as Error).message;
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `the chat template failed: ${why}`,
        { value: 'chat_template' },
        { cause: e },
      );
    }
    if (out.length > OUTPUT_LIMIT) {
      throw templateError(
        `the chat template produced ${out.length} characters, over the ${OUTPUT_LIMIT} limit`,
      );
    }
    return out;
  }
}

function pick(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  // Hugging Face allows a list of named templates; the one named "default" is the chat one.
  if (Array.isArray(v)) {
    const named = v.find((t) => (t as Json)?.name === 'default') ?? v[0];
    return typeof (named as Json)?.template === 'string' ? ((named as Json).template as string) : undefined;
  }
  return undefined;
}

/** The template from tokenizer_config.json, processor_config.json, chat_template.json or .jinja. */
export async function loadChatTemplate(pkg: ModelPackage): Promise<ChatTemplate> {
  const tokenizerConfig = pkg.tokenizer?.tokenizerConfig ?? {};
  let source = pick(tokenizerConfig.chat_template) ?? pick(pkg.processorConfig?.chat_template);
  if (!source && (await pkg.files.exists('chat_template.json'))) {
    source = pick((JSON.parse(await pkg.files.readText('chat_template.json')) as Json).chat_template);
  }
  if (!source && (await pkg.files.exists('chat_template.jinja')))
    source = await pkg.files.readText('chat_template.jinja');
  if (!source) {
    throw new ModelPackageError('MODEL_CONFIG_INVALID', `${pkg.location} has no chat template`, {
      hint: 'add "chat_template" to tokenizer_config.json (or a chat_template.jinja file)',
    });
  }
  try {
    return new ChatTemplate(source, tokenizerConfig);
  } catch (e) {
    throw new ModelPackageError(
      'MODEL_CONFIG_INVALID',
      `${pkg.location}: the chat template does not parse: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
}
