import { truncate } from './instruction';
import { ChatMessage, ChatRequest, Decision, ProposedCall, messageText, priorCalls } from './protocol';
import { argumentsFromSchema, requestedCalls } from './tool-requests';

/**
 * The honest model: it takes instructions only from the system messages and the first user message,
 * never from tool results, later messages or quoted material (DESIGN §1: injected text is data). It
 * calls each tool the instruction names once, then answers with a summary of what the tools returned.
 */
export function decideHonestly(request: ChatRequest): Decision {
  const instruction = userInstruction(request.messages);
  const called = new Set(priorCalls(request.messages).map((c) => c.name));
  const calls = toolsDue(request, instruction, called);
  if (calls.length > 0) return { kind: 'tool_calls', calls };
  return { kind: 'answer', content: summary(request.messages, instruction) };
}

/** The instruction the honest model obeys: the first user message (the system messages when there is none). */
export function userInstruction(messages: readonly ChatMessage[]): string {
  const first = messages.find((m) => m.role === 'user');
  if (first) return messageText(first);
  return messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map(messageText)
    .join('\n');
}

const INSTRUCTION_DIGEST = 300;
const RESULT_QUOTE = 500;

/** "Summary:" and either each tool result quoted (cut to 500 characters) or the instruction's first 300. */
export function summary(messages: readonly ChatMessage[], instruction: string): string {
  const results = toolResults(messages);
  if (results.length === 0) return `Summary: ${truncate(instruction.replace(/\s+/g, ' ').trim(), INSTRUCTION_DIGEST)}`;
  return `Summary: ${results.map((r) => `${r.name} returned "${truncate(r.content, RESULT_QUOTE)}"`).join('\n')}`;
}

function toolsDue(request: ChatRequest, instruction: string, called: ReadonlySet<string>): ProposedCall[] {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (tools.length === 0 || choice === 'none') return [];
  if (typeof choice === 'object') {
    const forced = tools.filter((t) => t.function.name === choice.function.name);
    if (forced.length === 0 || called.has(choice.function.name)) return [];
    const named = requestedCalls(instruction, forced, called);
    return named.length > 0 ? named : [{ name: choice.function.name, args: argumentsFromSchema(forced[0], instruction, 0) }];
  }
  const named = requestedCalls(instruction, tools, called);
  if (named.length > 0 || choice !== 'required') return named;
  const next = tools.find((t) => !called.has(t.function.name));
  return next ? [{ name: next.function.name, args: argumentsFromSchema(next, instruction, 0) }] : [];
}

function toolResults(messages: readonly ChatMessage[]): Array<{ name: string; content: string }> {
  const names = new Map<string, string>();
  for (const m of messages) for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  return messages
    .filter((m) => m.role === 'tool' || m.role === 'function')
    .map((m) => ({ name: (m.tool_call_id && names.get(m.tool_call_id)) || m.name || 'tool', content: messageText(m) }));
}
