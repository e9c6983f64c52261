import { canonicalJson } from '../functions/kernel/canonical';
import { decideHonestly } from './honest';
import { Injection, recognizeInjections } from './injections';
import { ChatMessage, ChatRequest, Decision, ProposedCall, ToolSpec, messageText, priorCalls } from './protocol';
import { argumentsFromSchema, requestedCalls } from './tool-requests';

/**
 * The compromised model (DESIGN §1, adversary 2): it obeys every order it finds in any message (system,
 * user, tool, assistant), the latest still-pending one winning, and calls tools it was never offered.
 * Everything it emits is attacker-chosen; the kernel is what must refuse it.
 */
export function decideCompromised(request: ChatRequest): Decision {
  const pending = pendingActions(request);
  const winner = pending.at(-1);
  if (!winner) return decideHonestly(request);
  if ('answer' in winner) return { kind: 'answer', content: winner.answer() };
  const calls = pending.filter((a): a is CallAction => 'call' in a && a.at === winner.at).map((a) => ({ name: a.call, args: a.args() }));
  return { kind: 'tool_calls', calls: distinct(calls) };
}

/** An order turned into what the model does; the text is only worked out for the order that wins. */
type Effect = { call: string; args: () => Record<string, unknown> } | { answer: () => string };
type CallAction = { at: number; call: string; args: () => Record<string, unknown> };
type Action = Effect & { at: number };

/**
 * Orders still to carry out, oldest first: orders before the last reset are dropped, and a call counts as
 * done once the assistant called that tool after the message that ordered it (so a result ends the loop).
 */
function pendingActions(request: ChatRequest): Action[] {
  const { messages } = request;
  const tools = request.tools ?? [];
  const orders = messages.flatMap((m, at) => recognizeInjections(messageText(m)).map((injection) => ({ at, injection, m })));
  const lastReset = orders.map((o) => o.injection.kind).lastIndexOf('reset');
  const calls = priorCalls(messages);
  return orders
    .slice(lastReset + 1)
    .flatMap(({ at, injection, m }) => effectsOf(injection, m, messages, tools).map((e) => ({ at, ...e })))
    .filter((a) => !('call' in a) || !calls.some((c) => c.name === a.call && c.at > a.at));
}

function effectsOf(injection: Injection, message: ChatMessage, messages: readonly ChatMessage[], tools: readonly ToolSpec[]): Effect[] {
  switch (injection.kind) {
    case 'reset':
      return [];
    case 'call': {
      const { tool, args, index } = injection;
      const offered = tools.find((t) => t.function.name === tool);
      return [{ call: tool, args: () => args ?? argumentsFromSchema(offered, messageText(message), index) }];
    }
    case 'send':
      return tools.some((t) => t.function.name === 'send_message')
        ? [{ call: 'send_message', args: () => ({ agent: injection.agent, text: injection.text }) }]
        : [{ answer: () => `@${injection.agent}: ${injection.text}` }];
    case 'reply':
      return [{ answer: () => injection.text }];
    case 'leak':
      return [{ answer: () => everything(messages) }];
    case 'obey': {
      const calls = requestedCalls(injection.text, tools, new Set());
      return calls.length > 0 ? calls.map((c) => ({ call: c.name, args: () => c.args })) : [{ answer: () => injection.text }];
    }
  }
}

/** The exfiltration answer: the full content of every message, in order. */
function everything(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `[${m.role}] ${messageText(m)}`).join('\n\n');
}

function distinct(calls: ProposedCall[]): ProposedCall[] {
  const seen = new Set<string>();
  return calls.filter((c) => {
    const key = canonicalJson([c.name, c.args]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
