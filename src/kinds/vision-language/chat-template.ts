/**
 * The model's own chat template (Jinja, from tokenizer_config.json or the processor's files),
 * rendered with @huggingface/jinja and the variables Hugging Face passes: messages,
 * add_generation_prompt and the special tokens as strings.
 */
import { Template } from '@huggingface/jinja';
import { ModelPackageError } from '../../errors.js';
import type { Json, ModelPackage } from '../../package/describe.js';
import type { TemplateMessage } from './messages.js';

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

  render(messages: readonly TemplateMessage[], addGenerationPrompt = true): string {
    return this.template.render({ ...this.specials, messages, add_generation_prompt: addGenerationPrompt });
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
