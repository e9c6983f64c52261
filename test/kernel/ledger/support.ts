import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../../functions/kernel/tables';
import { createTable, documentClient, unique } from '../../support/aws';

export { atomicConditionalWrites } from '../../../localstack/atomic-conditional-writes';
import { digest } from '../../../bench/ledger-fixtures';
export { buildChain, digest, sampleInput } from '../../../bench/ledger-fixtures';

/** A fresh, empty ledger table on the emulator. */
export async function ledgerTable(): Promise<{ doc: DynamoDBDocumentClient; tableName: string }> {
  const tableName = await createTable(unique('ledger'), TABLES.ledger.partitionKey, TABLES.ledger.sortKey.name);
  return { doc: documentClient(), tableName };
}

/** The DynamoDB commands a client sends, recorded by SDK middleware, with the items each read: `QueryCommand(1)`. */
export function recordCommands(doc: DynamoDBDocumentClient): string[] {
  const sent: string[] = [];
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      try {
        const result = await next(args);
        const items = (result.output as { Items?: unknown[] }).Items;
        sent.push(items ? `${name}(${items.length})` : name);
        return result;
      } catch (err) {
        sent.push(name);
        throw err;
      }
    },
    { step: 'initialize', name: 'recordLedgerCommands' },
  );
  return sent;
}

/**
 * Records every request a client sends (command name and input), by SDK middleware; when `failPut` is given,
 * every PutItem fails with an error of that name instead of reaching DynamoDB.
 */
export function recordRequests(doc: DynamoDBDocumentClient, failPut?: string): { command: string; input: Record<string, unknown> }[] {
  const inputs: { command: string; input: Record<string, unknown> }[] = [];
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String((context as { commandName?: string }).commandName);
      inputs.push({ command, input: args.input as Record<string, unknown> });
      if (failPut && command === 'PutItemCommand') throw Object.assign(new Error(`${failPut} (injected)`), { name: failPut });
      return next(args);
    },
    { step: 'initialize', name: 'recordLedgerRequests' },
  );
  return inputs;
}

/** `n` distinct words joined by `separator`: detail text of a known word count. */
export const detailWords = (n: number, separator = ' ') => Array.from({ length: n }, (_, i) => `w${i}`).join(separator);

/** A deep copy of an entry, safe to tamper with. */
export const copy = <T>(value: T): T => structuredClone(value);

/** Ways an attacker with write access can alter a stored entry in place (key attributes excepted). */
export const IN_PLACE_EDITS: Record<string, (e: Record<string, any>) => void> = {
  'type': (e) => (e.type = e.type === 'tool.executed' ? 'tool.denied' : 'tool.executed'),
  'actor': (e) => (e.actor = 'mallory'),
  'commandId': (e) => (e.commandId = 'cmd-forged'),
  'reason': (e) => (e.reason = 'SCHEMA'),
  'directiveId': (e) => (e.directiveId = 'dir-forged'),
  'messageId': (e) => (e.messageId = 'msg-forged'),
  'at': (e) => (e.at = '1999-12-31T23:59:59.000Z'),
  'prevHash': (e) => (e.prevHash = digest('forged link')),
  'hash': (e) => (e.hash = digest('forged hash')),
  'digests.content': (e) => (e.digests.content = digest('forged content')),
  'detail.label': (e) => (e.detail.label = 'UNCLASSIFIED'),
  'detail.count': (e) => (e.detail.count += 1),
  'detail.count as text': (e) => (e.detail.count = String(e.detail.count)),
  'detail.allowed': (e) => (e.detail.allowed = !e.detail.allowed),
  'detail.note': (e) => (e.detail.note = 'x'),
  'added detail field': (e) => (e.detail.extra = 1),
  'added attribute': (e) => (e.approvedBy = 'mallory'),
  'removed reason': (e) => delete e.reason,
  'removed detail': (e) => delete e.detail,
  'removed at': (e) => delete e.at,
};
