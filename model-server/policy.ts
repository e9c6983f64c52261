import { digestOf, sha256Hex } from '../functions/kernel/canonical';
import { decideCompromised } from './compromised';
import { decideHonestly } from './honest';
import { ChatRequest, Decision, MODES, Mode, messageText } from './protocol';

/**
 * The offline model's one decision: which policy answers a request, and the OpenAI chat-completion body
 * it becomes. Same request and mode, same body, byte for byte: ids come from the request's digest.
 */

export const DEFAULT_MODEL = 'agentsec-offline';
/** The mode a request asks for with its model name, e.g. `agentsec-offline:compromised`. */
const MODE_SUFFIX = /:(honest|compromised)$/;
/** Fixed, so that a replayed request gets an identical response. */
const CREATED = 1767225600;

/** Mode for one request: the `x-agentsec-model-mode` header, else the model-name suffix, else the server's. */
export function resolveMode(model: string, header: string | undefined, fallback: Mode): Mode {
  if (header !== undefined) {
    const wanted = header.trim().toLowerCase();
    if (!(MODES as readonly string[]).includes(wanted)) throw new RangeError(`x-agentsec-model-mode must be one of ${MODES.join(', ')}`);
    return wanted as Mode;
  }
  return (MODE_SUFFIX.exec(model)?.[1] as Mode | undefined) ?? fallback;
}

export function decide(request: ChatRequest, mode: Mode): Decision {
  return mode === 'compromised' ? decideCompromised(request) : decideHonestly(request);
}

/** The chat.completion object for a request, answered in `mode`. */
export function complete(request: ChatRequest, mode: Mode) {
  const digest = digestOf({ mode, request });
  const decision = decide(request, mode);
  const message =
    decision.kind === 'answer'
      ? { role: 'assistant' as const, content: decision.content, refusal: null }
      : {
          role: 'assistant' as const,
          content: null,
          refusal: null,
          tool_calls: decision.calls.map((call, i) => ({
            id: `call_${sha256Hex(`${digest}:${i}`).slice(0, 24)}`,
            type: 'function' as const,
            function: { name: call.name, arguments: JSON.stringify(call.args) },
          })),
        };
  const promptTokens = tokens(request.messages.map(messageText).join('\n'));
  const completionTokens = tokens(message.content ?? JSON.stringify(message.tool_calls));
  return {
    id: `chatcmpl-${digest.slice(0, 29)}`,
    object: 'chat.completion' as const,
    created: CREATED,
    model: request.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: decision.kind === 'answer' ? ('stop' as const) : ('tool_calls' as const) }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** The models this server lists: the default name and its per-mode variants. */
export function modelList() {
  return {
    object: 'list' as const,
    data: [DEFAULT_MODEL, ...MODES.map((m) => `${DEFAULT_MODEL}:${m}`)].map((id) => ({ id, object: 'model' as const, created: CREATED, owned_by: 'agentsec' })),
  };
}

/** A rough token count (4 characters a token), enough for clients that read `usage`. */
function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
