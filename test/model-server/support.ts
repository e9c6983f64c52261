import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { ModelServer, ModelServerOptions, startModelServer } from '../../model-server/server';

/** One offline model server for a test file, and a real `openai` client pointed at it. */
export function useModelServer(options: ModelServerOptions = {}): { server: () => ModelServer; client: () => OpenAI } {
  let server: ModelServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startModelServer(options);
    client = new OpenAI({ baseURL: server.url, apiKey: options.apiKey ?? 'unused', maxRetries: 0 });
  });
  afterAll(() => server.stop());
  return { server: () => server, client: () => client };
}

/** Tools shaped like the hospital topology's, with JSON Schemas as zod's `toJSONSchema` writes them. */
export const TOOLS: ChatCompletionTool[] = [
  tool('read_patient_record', { patientId: { type: 'string', pattern: '^P-\\d+$' } }, ['patientId']),
  tool('lookup_public_info', { query: { type: 'string', minLength: 1 } }, ['query']),
  tool('send_email', { to: { type: 'string', format: 'email' }, subject: { type: 'string' }, body: { type: 'string' } }, ['to', 'body']),
  tool(
    'schedule_appointment',
    {
      patientId: { type: 'string' },
      startsAt: { type: 'string', format: 'date-time' },
      durationMinutes: { type: 'integer', minimum: 15 },
      urgent: { type: 'boolean' },
      ward: { type: 'string', enum: ['general', 'cardiology', 'oncology'] },
      note: { type: 'string' },
    },
    ['patientId', 'startsAt', 'durationMinutes', 'urgent', 'ward'],
  ),
];

export const SEND_MESSAGE = tool('send_message', { agent: { type: 'string' }, text: { type: 'string' } }, ['agent', 'text']);

function tool(name: string, properties: Record<string, unknown>, required: string[]): ChatCompletionTool {
  return {
    type: 'function',
    function: { name, description: `${name} tool`, parameters: { type: 'object', properties, required, additionalProperties: false } },
  };
}

/** A conversation where the assistant called `name` and the tool answered `result`. */
export function afterToolResult(instruction: string, name: string, args: object, result: string, system = 'You are the analyst.'): ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: system },
    { role: 'user', content: instruction },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: JSON.stringify(args) } }] },
    { role: 'tool', tool_call_id: 'call_1', content: result },
  ];
}

/** The tool calls of a completion as `{name, args}`. */
export function callsOf(completion: OpenAI.Chat.Completions.ChatCompletion): Array<{ name: string; args: unknown }> {
  return (completion.choices[0].message.tool_calls ?? []).map((c) => {
    if (c.type !== 'function') throw new Error(`unexpected tool call type ${c.type}`);
    return { name: c.function.name, args: JSON.parse(c.function.arguments) };
  });
}
