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
