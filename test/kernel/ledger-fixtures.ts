import { createHash } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../functions/kernel/tables';
import { LedgerEntry, LedgerEntryInput, LedgerType, LEDGER_TYPES, linkEntry } from '../../functions/kernel/ledger';
import { createTable, documentClient, unique } from '../support/aws';

export const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** A realistic entry with every optional field set, varied by `i`. */
export function sampleInput(i: number, type: LedgerType = LEDGER_TYPES[i % (LEDGER_TYPES.length - 1)]): LedgerEntryInput {
  return {
    type,
    actor: ['core', 'analyst', 'signer', 'user:alice'][i % 4],
    commandId: `cmd-${i % 5}`,
    reason: (['READ_UP', 'NOT_AUTHORIZED', 'REPLAY'] as const)[i % 3],
    directiveId: `dir-${i}`,
    messageId: `msg-${i}`,
    digests: { content: digest(`content ${i}`) },
    detail: { label: 'SECRET/MEDICAL', count: i, allowed: i % 2 === 0, note: null },
  };
}

/** An in-memory chain of `n` valid entries. */
export function buildChain(n: number, chain = 'main'): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  const at = new Date('2030-01-01T00:00:00.000Z');
  for (let i = 1; i <= n; i++) entries.push(linkEntry(entries[i - 2], sampleInput(i), { chain, at }));
  return entries;
}

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

let putQueue: Promise<unknown> = Promise.resolve();

/**
 * moto server handles requests on threads without locking a table, so two concurrent conditional puts on
 * one key can both succeed. DynamoDB makes every conditional write atomic; sending this process's PutItem
 * requests one at a time restores that guarantee and changes nothing else (queries still interleave).
 */
export function atomicConditionalWrites(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutItemCommand') return next(args);
      const put = putQueue.then(() => next(args));
      putQueue = put.catch(() => undefined);
      return put;
    },
    { step: 'initialize', name: 'atomicConditionalWrites' },
  );
  return doc;
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
