import OpenAI from 'openai';
import { guardEgress } from '../kernel/flow/egress';
import { Label, join } from '../kernel/labels';
import type { ModelEndpointConfig } from '../kernel/topology/topology';
import { ModelApiKey } from './model-api-key';

/** A prompt message and the label of what it contains (DESIGN §6: values inside the kernel are labelled). */
export type LabelledMessage =
  | { role: 'system' | 'user'; content: string; label: Label }
  | { role: 'assistant'; content: string | null; label: Label; toolCalls?: ProposedToolCall[] }
  | { role: 'tool'; content: string; label: Label; toolCallId: string };

/** A tool call a model proposed. It is data: the kernel decides whether anything happens. */
export interface ProposedToolCall {
  readonly id: string;
  readonly name: string;
  /** Parsed JSON arguments, or the raw text when the model produced something that is not JSON. */
  readonly args: unknown;
}

export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
}

/** A model's reply, labelled with the join of everything in its prompt. */
export interface ModelReply {
  readonly content: string;
  readonly toolCalls: readonly ProposedToolCall[];
  readonly label: Label;
}

export interface ModelClientOptions {
  /** Where `baseUrlEnv`/`apiKeyEnv` are looked up. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds before a model call is abandoned. @default 30000 */
  timeoutMs?: number;
  /** The endpoint's API key. @default the variable `apiKeyEnv` of `env` */
  apiKey?: ModelApiKey;
}

/**
 * Calls one configured model endpoint through the `openai` client. The egress guard runs before any byte
 * leaves: a prompt whose label the endpoint's trust does not dominate is refused with EGRESS_ABOVE_TRUST.
 * An endpoint whose key is a secret has it read when the client is built (a function's cold start); a key that
 * cannot be read fails every call with ModelApiKeyUnavailableError, so the message goes to retries, then the DLQ.
 */
export class ModelClient {
  private readonly client: OpenAI;
  private readonly apiKey: ModelApiKey;

  constructor(
    readonly endpoint: ModelEndpointConfig,
    options: ModelClientOptions = {},
  ) {
    const env = options.env ?? process.env;
    const baseURL = (endpoint.baseUrlEnv && env[endpoint.baseUrlEnv]) || endpoint.baseUrl;
    const apiKey = (this.apiKey = options.apiKey ?? new ModelApiKey(endpoint, { env }));
    // At cold start: a secret without a value is logged (by name) before the first message needs it; complete() throws.
    if (apiKey.source === 'secret') apiKey.value().catch(() => undefined);
    const mode = env.AGENTSEC_MODEL_MODE;
    this.client = new OpenAI({
      baseURL,
      // Asked before each request; a secret's value comes from the Powertools cache after the first read.
      apiKey: () => apiKey.value(),
      maxRetries: 1,
      timeout: options.timeoutMs ?? 30_000,
      // Selects the offline model's behaviour (the attack suite runs it compromised); real endpoints ignore it.
      defaultHeaders: mode ? { 'x-agentsec-model-mode': mode } : undefined,
    });
  }

  /** The label a reply to `messages` carries: the join of every message in the prompt. */
  static promptLabel(messages: readonly LabelledMessage[]): Label {
    return join(...messages.map((m) => m.label));
  }

  async complete(messages: readonly LabelledMessage[], tools: readonly ToolSpec[] = []): Promise<ModelReply> {
    const label = ModelClient.promptLabel(messages);
    guardEgress(this.endpoint, label);
    // Thrown here as itself (the openai client would wrap it): nothing is sent without the configured key.
    await this.apiKey.value();
    const response = await this.client.chat.completions.create({
      model: this.endpoint.model,
      messages: messages.map(toOpenAi),
      ...(tools.length > 0
        ? { tools: tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) }
        : {}),
    });
    const message = response.choices[0]?.message;
    const toolCalls = (message?.tool_calls ?? []).flatMap((c) =>
      c.type === 'function' ? [{ id: c.id, name: c.function.name, args: parseArgs(c.function.arguments) }] : [],
    );
    return { content: message?.content ?? '', toolCalls, label };
  }
}

function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toOpenAi(m: LabelledMessage): OpenAI.Chat.Completions.ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'tool':
      return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls && m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: typeof c.args === 'string' ? c.args : JSON.stringify(c.args) },
              })),
            }
          : {}),
      };
  }
}
