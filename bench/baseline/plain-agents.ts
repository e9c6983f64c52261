import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { formatLabel, label as makeLabel } from '../../functions/kernel/labels';
import { LabelledMessage, ModelClient, ToolSpec } from '../../functions/platform/model-client';
import { Topology } from '../../functions/kernel/topology/topology';
import { toolRegistry, toolSpecs } from '../../functions/tools/registry';
import type { RecordReader } from '../../functions/kernel/tools/tool';
import { PlainMessage, sendPlain } from './plain-message';

/**
 * The baseline's agents: the same work as functions/agents (core plans with its model, delegates over SQS,
 * keeps the command's state in the commands table, composes; effectors run their model and tools and answer),
 * the same prompts and the same model server, with no encryption, labels checks, signatures, single-use
 * records, idempotency records or ledger. Benchmark only: nothing outside bench/ builds them.
 */

/** Labels are required by the model client's types only; everything is UNCLASSIFIED, so no egress rule applies. */
const NONE = makeLabel('UNCLASSIFIED');
const MAX_ROUNDS = 4;

export interface PlainAgentProps {
  readonly name: string;
  readonly topology: Topology;
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly commandsTable: string;
  /** The records table, seeded in clear (no label, no KMS): what the tools read. */
  readonly recordsTable: string;
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Base URL of the model server, for every endpoint. */
  readonly modelUrl: string;
}

interface TaskBody {
  subtaskId: string;
  task: string;
}
interface ResultBody {
  subtaskId: string;
  status: 'completed';
  content: string;
}
interface Subtask {
  agent: string;
  toolCallId: string;
  status: 'sent' | 'completed';
  content?: string;
}
interface PlainCommand {
  commandId: string;
  owner: string;
  label: string;
  status: string;
  plan?: LabelledMessage[];
  subtasks?: Record<string, Subtask>;
}

/** A batch handler that runs every record at once and reports the failed ones (ReportBatchItemFailures). */
export function plainBatchHandler(handle: (message: PlainMessage) => Promise<void>) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failed: string[] = [];
    await Promise.all(
      event.Records.map((r: SQSRecord) => handle(JSON.parse(r.body) as PlainMessage).catch(() => void failed.push(r.messageId))),
    );
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

function modelFor(props: PlainAgentProps): ModelClient {
  const endpoint = props.topology.modelEndpoint(props.topology.agent(props.name).model);
  return new ModelClient(endpoint, { env: endpoint.baseUrlEnv ? { [endpoint.baseUrlEnv]: props.modelUrl } : {} });
}

/** core without its kernel: plan, delegate, collect, compose. Prompts as in functions/agents/core.ts. */
export class PlainCore {
  private readonly model: ModelClient;

  constructor(private readonly props: PlainAgentProps) {
    this.model = modelFor(props);
  }

  readonly handle = async (message: PlainMessage): Promise<void> => {
    const out = await this.props.doc.send(new GetCommand({ TableName: this.props.commandsTable, Key: { commandId: message.commandId }, ConsistentRead: true }));
    const command = out.Item as PlainCommand | undefined;
    if (!command || ['completed', 'failed'].includes(command.status)) return;
    if (message.kind === 'task') return this.plan(command, (message.body as { text: string }).text);
    return this.collect(command.commandId, message.body as ResultBody);
  };

  private systemPrompt(): string {
    const { topology, name } = this.props;
    const staff = [...topology.agents.values()]
      .filter((a) => a.name !== name)
      .map((a) => `- ${a.name} (cleared ${formatLabel(a.clearance)}): ${a.description}`)
      .join('\n');
    return `You are core, the kernel agent of a hospital. Answer the user's request, delegating work to the staff below through their functions.\nStaff:\n${staff}`;
  }

  private delegationTools(): ToolSpec[] {
    return this.props.topology.agent(this.props.name).sendsTo.map((to) => ({
      name: to,
      description: this.props.topology.agent(to).description,
      parameters: { type: 'object', properties: { task: { type: 'string' } }, required: ['task'], additionalProperties: false },
    }));
  }

  private async plan(command: PlainCommand, text: string): Promise<void> {
    const prompt: LabelledMessage[] = [
      { role: 'system', content: this.systemPrompt(), label: NONE },
      { role: 'user', content: text, label: NONE },
    ];
    const reply = await this.model.complete(prompt, this.delegationTools());
    const sendsTo = this.props.topology.agent(this.props.name).sendsTo;
    const calls = reply.toolCalls.filter((c) => sendsTo.includes(c.name) && typeof (c.args as { task?: unknown })?.task === 'string');
    if (calls.length === 0) return this.finish(command.commandId, reply.content);
    const plan: LabelledMessage[] = [...prompt, { role: 'assistant', content: reply.content, label: NONE, toolCalls: calls }];
    const subtasks: Record<string, Subtask> = {};
    for (const call of calls) subtasks[randomUUID()] = { agent: call.name, toolCallId: call.id, status: 'sent' };
    await this.update(command.commandId, { status: 'running', plan, subtasks });
    for (const [subtaskId, state] of Object.entries(subtasks)) {
      const task = (calls.find((c) => c.id === state.toolCallId)!.args as { task: string }).task;
      await sendPlain<TaskBody>(this.props.sqs, this.props.queueUrls[state.agent], {
        from: this.props.name, to: state.agent, kind: 'task', label: command.label, commandId: command.commandId, principal: command.owner, body: { subtaskId, task },
      });
    }
  }

  private async collect(commandId: string, result: ResultBody): Promise<void> {
    const updated = await this.update(commandId, { [`subtasks.${result.subtaskId}.status`]: 'completed', [`subtasks.${result.subtaskId}.content`]: result.content });
    if (!updated || Object.values(updated.subtasks ?? {}).some((s) => s.status === 'sent')) return;
    // Composes once, however many results race to be last.
    if (!(await this.update(commandId, { composed: true }, 'attribute_not_exists(composed)'))) return;
    const messages: LabelledMessage[] = [...(updated.plan ?? [])];
    for (const s of Object.values(updated.subtasks ?? {})) messages.push({ role: 'tool', toolCallId: s.toolCallId, content: s.content ?? '', label: NONE });
    const reply = await this.model.complete(messages, this.delegationTools());
    await this.finish(commandId, reply.content);
  }

  private async finish(commandId: string, answer: string): Promise<void> {
    await this.update(commandId, { status: 'completed', result: answer });
  }

  private async update(commandId: string, set: Record<string, unknown>, condition?: string): Promise<PlainCommand | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const parts = Object.entries(set).map(([path, value], i) => {
      const segments = path.split('.').map((seg, j) => ((names[`#p${i}_${j}`] = seg), `#p${i}_${j}`));
      values[`:v${i}`] = value;
      return `${segments.join('.')} = :v${i}`;
    });
    try {
      const out = await this.props.doc.send(
        new UpdateCommand({
          TableName: this.props.commandsTable,
          Key: { commandId },
          UpdateExpression: `SET ${parts.join(', ')}`,
          ...(condition ? { ConditionExpression: condition } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as PlainCommand;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
      throw err;
    }
  }
}

/** An effector without its kernel: its model proposes, its tools run, it answers core. Prompt as in effector.ts. */
export class PlainEffector {
  private readonly model: ModelClient;

  constructor(private readonly props: PlainAgentProps) {
    this.model = modelFor(props);
  }

  readonly handle = async (message: PlainMessage): Promise<void> => {
    const { topology, name } = this.props;
    const self = topology.agent(name);
    const { subtaskId, task } = message.body as TaskBody;
    const messages: LabelledMessage[] = [
      { role: 'system', content: `You are ${name}: ${self.description} Your tools: ${self.tools.join(', ') || 'none'}. Answer the task concisely.`, label: NONE },
      { role: 'user', content: task, label: NONE },
    ];
    const content = await this.work(messages, message);
    await sendPlain<ResultBody>(this.props.sqs, this.props.queueUrls.core, {
      from: name, to: 'core', kind: 'result', label: message.label, commandId: message.commandId, principal: message.principal, body: { subtaskId, status: 'completed', content },
    });
  };

  private async work(messages: LabelledMessage[], message: PlainMessage): Promise<string> {
    const { topology, name } = this.props;
    const tools = toolSpecs(topology, name);
    const registry = toolRegistry(topology);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const reply = await this.model.complete(messages, tools);
      if (reply.toolCalls.length === 0) return reply.content;
      messages.push({ role: 'assistant', content: reply.content, label: NONE, toolCalls: [...reply.toolCalls] });
      for (const call of reply.toolCalls) {
        const tool = registry.get(call.name)?.definition;
        const args = tool?.args.safeParse(call.args);
        const outcome = tool && args?.success
          ? await tool.execute(args.data, {
              agent: name,
              commandId: message.commandId,
              principal: message.principal,
              effectId: randomUUID(),
              records: plainRecords(this.props.doc, this.props.recordsTable),
            })
          : { content: `[no such call: ${call.name}]` };
        messages.push({ role: 'tool', toolCallId: call.id, content: outcome.content, label: NONE });
      }
    }
    return messages.filter((m) => m.role === 'tool').map((m) => m.content).join('\n');
  }
}

/** The one partition the baseline keeps its records in (the secure table's key is reader + record id). */
export const PLAIN_READER = 'plain';

/** Records as the baseline keeps them: in clear, one GetItem per read, no label check and no KMS. */
function plainRecords(doc: DynamoDBDocumentClient, table: string): RecordReader {
  return {
    async read(recordId) {
      const item = (await doc.send(new GetCommand({ TableName: table, Key: { reader: PLAIN_READER, recordId } }))).Item as { body?: string } | undefined;
      return item?.body === undefined ? undefined : { recordId, label: NONE, body: JSON.parse(item.body) as unknown };
    },
  };
}
