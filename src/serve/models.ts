/**
 * The models a server answers for, each routed by its kind (the family registry's `kind`, read
 * from the loaded package): which endpoints a kind serves is the table below, and how is one
 * service factory per kind. Nothing here names a family; a new family of an existing kind is
 * served with no change, and a new kind is one row and one factory.
 */
import { InputError, MmrtError, ServeError } from '../errors.js';
import type { LoadedModel } from '../families/family.js';
import { familyByName } from '../families/registry.js';
import { ClipModel } from '../kinds/dual-encoder/model.js';
import { LlavaModel } from '../kinds/vision-language/model.js';
import type { BatchingOptions } from './batcher.js';
import type { ServeMetrics } from './metrics.js';
import { CaptionService, isCaptioningModel } from './services/captions.js';
import { ChatService } from './services/chat.js';
import { EmbeddingService } from './services/embeddings.js';
import type { PrefixPoolLimits } from './services/prefix-pool.js';

export type Task = 'embeddings' | 'classify' | 'chat' | 'captions';

/** The endpoints each model kind serves. */
export const TASKS_OF_KIND: Readonly<Record<string, readonly Task[]>> = {
  'dual-encoder': ['embeddings', 'classify'],
  'vision-language': ['chat'],
  'image-to-text': ['captions'],
};

export const ENDPOINT_OF_TASK: Readonly<Record<Task, string>> = {
  embeddings: '/v1/embeddings',
  classify: '/v1/classify',
  chat: '/v1/chat/completions',
  captions: '/v1/captions',
};

export interface Services {
  readonly embeddings?: EmbeddingService;
  readonly chat?: ChatService;
  readonly captions?: CaptionService;
}

export interface ServiceContext {
  readonly metrics: ServeMetrics;
  readonly batching: Readonly<Record<'embeddings' | 'chat' | 'captions', BatchingOptions>>;
  readonly prefixCache: PrefixPoolLimits;
}

function wrongClass(id: string, kind: string, expected: string): MmrtError {
  return new MmrtError('MODEL_UNSUPPORTED', `${id} is a ${kind} model but not a ${expected}`, { value: id });
}

/** How each kind becomes services. */
const SERVICE_FACTORIES: Readonly<
  Record<string, (id: string, model: LoadedModel, ctx: ServiceContext) => Services>
> = {
  'dual-encoder': (id, model, ctx) => {
    if (!(model instanceof ClipModel)) throw wrongClass(id, 'dual-encoder', 'ClipModel');
    return { embeddings: new EmbeddingService(id, model, ctx.batching.embeddings, ctx.metrics) };
  },
  'vision-language': (id, model, ctx) => {
    if (!(model instanceof LlavaModel)) throw wrongClass(id, 'vision-language', 'LlavaModel');
    return { chat: new ChatService(id, model, ctx.batching.chat, ctx.prefixCache, ctx.metrics) };
  },
  'image-to-text': (id, model, ctx) => {
    if (!isCaptioningModel(model)) {
      throw new MmrtError('MODEL_UNSUPPORTED', `${id} is an image-to-text model without caption()`, {
        value: id,
      });
    }
    return { captions: new CaptionService(id, model, ctx.batching.captions, ctx.metrics) };
  },
};

export interface ServedModel {
  readonly id: string;
  readonly kind: string;
  readonly family: string;
  /** Unix seconds when it was loaded (OpenAI's `created`). */
  readonly created: number;
  readonly model: LoadedModel;
  readonly tasks: readonly Task[];
  readonly services: Services;
  /** Whether the server loaded it (and so disposes it). */
  readonly owned: boolean;
}

/** A loaded model's kind, from its package's family (custom families included). */
export function kindOf(model: LoadedModel): string {
  const pkg = model.loader.package;
  const spec = pkg.familySpec as { readonly kind?: unknown };
  return typeof spec.kind === 'string' ? spec.kind : familyByName(pkg.family).kind;
}

export class ModelRegistry {
  private readonly models = new Map<string, ServedModel>();

  constructor(private readonly ctx: ServiceContext) {}

  add(id: string, model: LoadedModel, owned: boolean): ServedModel {
    if (this.models.has(id)) {
      throw new InputError('INPUT_INVALID', `two models are named "${id}"`, {
        value: id,
        hint: 'name them: --model name=path',
      });
    }
    const kind = kindOf(model);
    const factory = SERVICE_FACTORIES[kind];
    if (!factory) {
      throw new MmrtError('MODEL_UNSUPPORTED', `mmrt serve has no endpoint for ${kind} models (${id}) yet`, {
        value: kind,
        valid: Object.keys(SERVICE_FACTORIES),
      });
    }
    const served: ServedModel = {
      id,
      kind,
      family: model.loader.package.family,
      created: Math.floor(Date.now() / 1000),
      model,
      tasks: TASKS_OF_KIND[kind] ?? [],
      services: factory(id, model, this.ctx),
      owned,
    };
    this.models.set(id, served);
    return served;
  }

  list(): ServedModel[] {
    return [...this.models.values()];
  }

  get(id: string): ServedModel | undefined {
    return this.models.get(id);
  }

  /**
   * The model a request names for a task; with no name, the only model that serves the task.
   * Fails with MODEL_NOT_FOUND (naming what is loaded) or TASK_UNSUPPORTED.
   */
  find(requested: unknown, task: Task): ServedModel {
    const able = this.list().filter((m) => m.tasks.includes(task));
    if (requested === undefined || requested === null || requested === '') {
      if (able.length === 1) return able[0]!;
      throw new InputError(
        'INPUT_INVALID',
        able.length === 0
          ? `no loaded model serves ${ENDPOINT_OF_TASK[task]}`
          : `several models serve ${ENDPOINT_OF_TASK[task]}: name one in "model"`,
        { param: 'model', valid: able.map((m) => m.id) },
      );
    }
    if (typeof requested !== 'string') {
      throw new InputError('INPUT_INVALID', '"model" must be a string', {
        param: 'model',
        value: typeof requested,
      });
    }
    const m = this.models.get(requested);
    if (!m) {
      throw new MmrtError('MODEL_NOT_FOUND', `model "${requested}" is not loaded on this server`, {
        param: 'model',
        value: requested,
        valid: able.length > 0 ? able.map((x) => x.id) : this.list().map((x) => x.id),
      });
    }
    if (!m.tasks.includes(task)) {
      throw new ServeError(
        'TASK_UNSUPPORTED',
        `${m.id} is a ${m.kind} model: it serves ${m.tasks.map((t) => ENDPOINT_OF_TASK[t]).join(', ') || 'nothing'}, not ${ENDPOINT_OF_TASK[task]}`,
        { param: 'model', value: m.id, valid: able.map((x) => x.id) },
      );
    }
    return m;
  }
}
