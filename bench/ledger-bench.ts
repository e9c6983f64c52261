import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LedgerEntry } from '../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../functions/kernel/ledger/ledger';
import { verifyChain } from '../functions/kernel/ledger/verify-chain';
import { entryLeaf } from '../functions/kernel/ledger/log-tree';
import { HASH_BYTES, inclusionProof, rootOf, verifyInclusion } from '../functions/kernel/ledger/merkle';
import { buildChain, sampleInput } from './ledger-fixtures';
import { SdkMeter } from './sdk-meter';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { PendingLedgerWriter } from '../functions/kernel/ledger/pending';
import { Sequencer } from '../functions/kernel/ledger/sequencer';
import { TABLES } from '../functions/kernel/tables';
import { changesOf } from '../functions/handlers/sequencer';
import { DynamoDbStreamSource } from '../localstack/dynamodb-stream-source';
import { ensureTable, streamArnOf } from '../localstack/provision-tables';
import { Summary, summarize } from './stats';

/**
 * The ledger's write and verification rates. Appends run against the emulator; moto's conditional writes are
 * not atomic under concurrent requests, so this process's PutItems go one at a time (the test suite's
 * `atomicConditionalWrites` fixture), which is what DynamoDB guarantees per item; queries still interleave.
 */

export interface AppendThroughput {
  readonly writers: number;
  readonly appends: number;
  readonly elapsedMs: number;
  readonly appendsPerSec: number;
  /** The chain the writers produced verifies, gap-free, with every append in it. */
  readonly chainIntact: boolean;
}

/** `writers` LedgerWriters appending `perWriter` entries each to one chain, all at once. */
export async function measureAppendThroughput(doc: DynamoDBDocumentClient, tableName: string, writers: number, perWriter: number): Promise<AppendThroughput> {
  const chain = `bench-writers-${randomUUID().slice(0, 8)}`;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const writer = new LedgerWriter({ doc, tableName, chain });
      for (let i = 0; i < perWriter; i++) await writer.append({ ...sampleInput(w * perWriter + i), actor: `writer-${w}` });
    }),
  );
  const elapsedMs = performance.now() - start;
  const stored = await new LedgerReader({ doc, tableName, chain }).readAll();
  const appends = writers * perWriter;
  return { writers, appends, elapsedMs, appendsPerSec: appends / (elapsedMs / 1000), chainIntact: stored.length === appends && verifyChain(stored).ok };
}

export interface AppendCost {
  readonly length: number;
  /** A fresh writer's first append: it must find the head (one query, one put). */
  readonly cold: Summary;
  /** Its second append: it wrote the head, so one put. */
  readonly warm: Summary;
  /** DynamoDB requests per first append, and items its query evaluated. */
  readonly requestsPerAppend: number;
  readonly itemsReadPerAppend: number;
}

export interface LengthIndependence {
  readonly short: AppendCost;
  readonly long: AppendCost;
  /** p50 of the head query (Limit 1) at each length: on moto it grows with the table, on DynamoDB it reads one item. */
  readonly headQueryMs: { readonly short: number; readonly long: number };
}

/**
 * Append cost at chain length `short` and at `long`, on two chains filled beforehand with linked entries. The
 * two are measured alternately, so load on the machine falls on both alike. Each sample is a fresh writer's
 * first append (it must find the head) and its second (it wrote the head: one put).
 */
export async function measureLengthIndependence(
  doc: DynamoDBDocumentClient,
  tableName: string,
  meter: SdkMeter,
  options: { short: number; long: number; samples: number },
): Promise<LengthIndependence> {
  const chains = { short: `bench-short-${randomUUID().slice(0, 8)}`, long: `bench-long-${randomUUID().slice(0, 8)}` };
  await writeLinked(doc, tableName, buildChain(options.short, chains.short));
  await writeLinked(doc, tableName, buildChain(options.long, chains.long));
  const samples = { short: { cold: [] as number[], warm: [] as number[] }, long: { cold: [] as number[], warm: [] as number[] } };
  for (let i = 0; i < options.samples; i++) {
    for (const which of ['short', 'long'] as const) {
      const writer = new LedgerWriter({ doc, tableName, chain: chains[which] });
      meter.phase = `ledger-${which}`;
      let start = performance.now();
      await writer.append(sampleInput(i));
      samples[which].cold.push(performance.now() - start);
      meter.phase = 'idle';
      start = performance.now();
      await writer.append(sampleInput(i + 1));
      samples[which].warm.push(performance.now() - start);
    }
  }
  // The clouds' own clients run meanwhile (the signer's checkpoints): count only this table's calls.
  const cost = (which: 'short' | 'long', length: number): AppendCost => {
    const calls = meter.of(`ledger-${which}`).filter((c) => c.table === tableName);
    return {
      length,
      cold: summarize(samples[which].cold),
      warm: summarize(samples[which].warm),
      requestsPerAppend: calls.length / options.samples,
      itemsReadPerAppend: calls.reduce((sum, c) => sum + (c.scanned ?? 0), 0) / options.samples,
    };
  };
  const queryMs = (which: 'short' | 'long') =>
    summarize(meter.of(`ledger-${which}`).filter((c) => c.table === tableName && c.command === 'Query').map((c) => c.ms)).p50;
  return { short: cost('short', options.short), long: cost('long', options.long), headQueryMs: { short: queryMs('short'), long: queryMs('long') } };
}

/** Writes entries 25 to a batch, a few batches at a time, retrying what DynamoDB leaves unprocessed. */
async function writeLinked(doc: DynamoDBDocumentClient, tableName: string, entries: readonly LedgerEntry[]): Promise<void> {
  const batches: LedgerEntry[][] = [];
  for (let i = 0; i < entries.length; i += 25) batches.push(entries.slice(i, i + 25));
  const worker = async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

export interface VerifyRate {
  readonly entries: number;
  readonly ms: number;
  readonly entriesPerSec: number;
  readonly ok: boolean;
}

/** `verifyChain` over `entries` synthetic entries in memory (every hash and link recomputed). */
export function measureVerify(entries: number): VerifyRate {
  const chain = buildChain(entries, 'bench-verify');
  const start = performance.now();
  const result = verifyChain(chain);
  const ms = performance.now() - start;
  return { entries, ms, entriesPerSec: entries / (ms / 1000), ok: result.ok && result.entries === entries };
}


export interface TreeRate {
  readonly entries: number;
  /** Leaf hashes (RFC 8785 JSON of each entry, then SHA-256) and the root over them. */
  readonly rootMs: number;
  readonly entriesPerSec: number;
  /** One inclusion proof checked, as `audit check-proof` does offline. */
  readonly proofVerifyUs: number;
  readonly proofHashes: number;
  /** The audit path of an entry in a tree of 10^6 entries: ceil(log2(10^6)) hashes of 32 bytes (computed). */
  readonly proofBytesAt1e6: number;
  readonly ok: boolean;
}

/** The Merkle tree over `entries` synthetic entries in memory: the root a tree head signs, and an inclusion proof's check. */
export function measureTree(entries: number): TreeRate {
  const chain = buildChain(entries, 'bench-tree');
  const start = performance.now();
  const leaves = chain.map(entryLeaf);
  const root = rootOf(leaves);
  const rootMs = performance.now() - start;
  const index = Math.floor(entries / 3);
  const proof = inclusionProof(index, leaves);
  const rounds = 1000;
  const t = performance.now();
  let ok = true;
  for (let i = 0; i < rounds; i++) ok = verifyInclusion(index, entries, leaves[index], proof, root) && ok;
  const proofVerifyUs = ((performance.now() - t) * 1000) / rounds;
  return { entries, rootMs, entriesPerSec: entries / (rootMs / 1000), proofVerifyUs, proofHashes: proof.length, proofBytesAt1e6: Math.ceil(Math.log2(1e6)) * HASH_BYTES, ok };
}

export interface PendingThroughput {
  readonly writers: number;
  readonly appends: number;
  readonly elapsedMs: number;
  /** Pending appends per second: one put each, to the writer's own partition. */
  readonly appendsPerSec: number;
  /** The sequencer sealing them all, from the table's stream, after the writers finished. */
  readonly sealMs: number;
  readonly sealedPerSec: number;
  /** The sealed log holds every append once, gap-free, and verifies. */
  readonly chainIntact: boolean;
  /** The emulator's own ceiling: as many plain PutItems (no condition, no ledger code) by as many concurrent loops. */
  readonly emulatorPutsPerSec: number;
}

/**
 * `writers` PendingLedgerWriters appending `perWriter` entries each, all at once, to a fresh ledger table with its
 * stream; then the sequencer seals them. The writers need no serialized puts: no two write one key.
 */
export async function measurePendingThroughput(
  doc: DynamoDBDocumentClient,
  dynamo: DynamoDBClient,
  streams: DynamoDBStreamsClient,
  tableName: string,
  writers: number,
  perWriter: number,
): Promise<PendingThroughput> {
  await ensureTable(dynamo, tableName, TABLES.ledger);
  const emulatorPutsPerSec = await plainPutRate(doc, dynamo, `${tableName}-ceiling`, writers, perWriter);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const writer = new PendingLedgerWriter({ doc, tableName, writer: `writer-${w}` });
      for (let i = 0; i < perWriter; i++) await writer.append({ ...sampleInput(w * perWriter + i), actor: `writer-${w}` });
    }),
  );
  const elapsedMs = performance.now() - start;
  const sequencer = new Sequencer({ doc, tableName, actor: 'sequencer', signer: 'signer' });
  const source = new DynamoDbStreamSource({ streams, streamArn: await streamArnOf(dynamo, tableName), handler: (e) => sequencer.sequence(changesOf(e)) });
  const sealStart = performance.now();
  await source.start();
  await source.settled(600_000);
  const sealMs = performance.now() - sealStart;
  await source.stop();
  const stored = await new LedgerReader({ doc, tableName }).readAll();
  const appends = writers * perWriter;
  return {
    writers,
    appends,
    elapsedMs,
    appendsPerSec: appends / (elapsedMs / 1000),
    sealMs,
    sealedPerSec: appends / (sealMs / 1000),
    chainIntact: stored.length === appends && verifyChain(stored).ok,
    emulatorPutsPerSec,
  };
}

/** Plain PutItems by `loops` concurrent loops into a table like the ledger's: what the emulator itself sustains. */
async function plainPutRate(doc: DynamoDBDocumentClient, dynamo: DynamoDBClient, tableName: string, loops: number, perLoop: number): Promise<number> {
  await ensureTable(dynamo, tableName, TABLES.ledger);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async (_, l) => {
      for (let i = 0; i < perLoop; i++) await doc.send(new PutCommand({ TableName: tableName, Item: { chain: `loop-${l}`, seq: i, ...sampleInput(i) } }));
    }),
  );
  return (loops * perLoop) / ((performance.now() - start) / 1000);
}

/**
 * A pending append's cost with the sealed log at `short` and at `long` entries (two tables, filled beforehand),
 * measured alternately so load falls on both alike: one put, whatever the log's length.
 */
export async function measurePendingLength(
  doc: DynamoDBDocumentClient,
  dynamo: DynamoDBClient,
  tables: { readonly short: string; readonly long: string },
  meter: SdkMeter,
  options: { short: number; long: number; samples: number },
): Promise<LengthIndependence> {
  const plainLedger = { ...TABLES.ledger, stream: undefined };
  await Promise.all([ensureTable(dynamo, tables.short, plainLedger), ensureTable(dynamo, tables.long, plainLedger)]);
  await writeLinked(doc, tables.short, buildChain(options.short, 'main'));
  await writeLinked(doc, tables.long, buildChain(options.long, 'main'));
  const samples = { short: [] as number[], long: [] as number[] };
  for (let i = 0; i < options.samples; i++) {
    for (const which of ['short', 'long'] as const) {
      const writer = new PendingLedgerWriter({ doc, tableName: tables[which], writer: 'core' });
      meter.phase = `pending-${which}`;
      const start = performance.now();
      await writer.append({ ...sampleInput(i), actor: 'core' });
      samples[which].push(performance.now() - start);
      meter.phase = 'idle';
    }
  }
  const cost = (which: 'short' | 'long', length: number): AppendCost => {
    const calls = meter.of(`pending-${which}`).filter((c) => c.table === tables[which]);
    const summary = summarize(samples[which]);
    return { length, cold: summary, warm: summary, requestsPerAppend: calls.length / options.samples, itemsReadPerAppend: calls.reduce((s, c) => s + (c.scanned ?? 0), 0) / options.samples };
  };
  return { short: cost('short', options.short), long: cost('long', options.long), headQueryMs: { short: 0, long: 0 } };
}

export interface UnvouchedWindow {
  /** Sealed entries that came from a pending append. */
  readonly entries: number;
  /** Of those, the ones a signed head covers. */
  readonly vouched: number;
  /** From the writer's append to the `checkpoint` entry whose signed head first covers it. */
  readonly ms: Summary;
}

/** How long each entry waited for a signed head (DESIGN §7: the window in which a rewrite would verify). */
export function unvouchedWindow(entries: readonly LedgerEntry[]): UnvouchedWindow {
  const heads = entries.filter((e) => e.type === 'checkpoint').map((e) => ({ covers: Number(e.detail?.seq ?? 0), at: Date.parse(e.at) }));
  const waits: number[] = [];
  const appended = entries.filter((e) => e.pending !== undefined);
  for (const e of appended) {
    const head = heads.find((h) => h.covers >= e.seq);
    if (head) waits.push(head.at - Date.parse(e.at));
  }
  return { entries: appended.length, vouched: waits.length, ms: summarize(waits) };
}
