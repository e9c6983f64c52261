import { z } from 'zod';

/**
 * The slice of the OpenAI chat-completions protocol the offline model speaks. Requests are validated
 * loosely (unknown fields pass, as with the real API) so any OpenAI-compatible client works unchanged.
 */

export const MODES = ['honest', 'compromised'] as const;
export type Mode = (typeof MODES)[number];

const TextPart = z.looseObject({ type: z.string(), text: z.string().optional() });

const ToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string().optional() }),
});

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(TextPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(ToolCall).optional(),
  tool_call_id: z.string().optional(),
});

const Tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

export const ChatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  tools: z.array(Tool).optional(),
  tool_choice: ToolChoice.optional(),
  stream: z.boolean().nullable().optional(),
});

export type ChatRequest = z.infer<typeof ChatRequestSchema>;
export type ChatMessage = ChatRequest['messages'][number];
export type ToolSpec = NonNullable<ChatRequest['tools']>[number];

/** What a policy decides: a final answer, or tool calls whose arguments are still objects. */
export type Decision =
  | { kind: 'answer'; content: string }
  | { kind: 'tool_calls'; calls: ProposedCall[] };

export interface ProposedCall {
  name: string;
  args: Record<string, unknown>;
}

/** Plain text of a message, whatever content form the client used (string, parts or null). */
export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content.map((part) => part.text ?? '').join('\n');
}

/** Tool names the assistant has already called, with the index of the message that called each. */
export function priorCalls(messages: readonly ChatMessage[]): Array<{ name: string; at: number }> {
  return messages.flatMap((m, at) =>
    m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => ({ name: c.function.name, at })) : [],
  );
}

/** The OpenAI error body, so clients raise their usual typed errors (BadRequestError, ...). */
export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } };
}
