import { generateKeyPairSync, sign } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { anchorPartition } from '../functions/kernel/ledger/checkpoint-anchor';
import { hashEntry, LedgerEntry, linkEntry } from '../functions/kernel/ledger/entry';
import { TABLES } from '../functions/kernel/tables';
import { Outcome, outcome } from './attempt';
import type { RedTeamCloud } from './cloud';
import { CommandWatch } from './command-watch';
import { treeHeadNoteOf } from '../functions/kernel/ledger/log-tree';
import { noteKeyId } from '../functions/kernel/ledger/tree-head';

/**
 * Ledger tampering (DESIGN §7) with the SDK, as someone with write access to the table: entries edited, deleted,
 * reordered, inserted, re-chained and truncated, checkpoints and the anchor forged. `GET /v1/audit/verify` must say
 * `ok: false` and name the first bad entry. Each attack is undone before the next, and the chain verifies again.
 */

const CHAIN = 'main';
const CHAIN_KEY = TABLES.ledger.partitionKey;
const SEQ_KEY = TABLES.ledger.sortKey.name;
const ANCHOR_KEY = { [CHAIN_KEY]: anchorPartition(CHAIN), [SEQ_KEY]: 0 };

type Entry = LedgerEntry & Record<string, unknown>;

/** Why a rewrite after the last signed head verifies: nothing has signed it yet. */
const UNSIGNED_TAIL = 'entries after the last signed head are covered by no signature until the sequencer\'s next batch has one signed (about a second; `npm run bench` measures the window)';

export interface Attack {
  readonly name: string;
  readonly apply: () => Promise<void>;
  /**
   * The first seq the attack changed (or removed): what verification must name, since it promises that the
   * entries before `firstBadSeq` are intact (functions/kernel/ledger/verify-chain.ts). Another answer is an anomaly.
   */
  readonly firstBad: number;
  /**
   * For a rewrite re-chained after the edit, only checkpoints can tell where it began: any `firstBadSeq` from this
   * seq (the first one no earlier checkpoint vouches for) to `firstBad` keeps that promise. @default firstBad
   */
  readonly firstBadFrom?: number;
  /** When the attack is beyond what the design detects, why (an undetected result is residual risk, not a success). */
  readonly bounded?: string;
}

/** Where the chain stands when tampering starts. */
interface Baseline {
  readonly entries: readonly Entry[];
  readonly anchor: Record<string, unknown>;
  /** The anchor of an earlier checkpoint, saved when it was current. */
  readonly earlierAnchor: Record<string, unknown>;
  /** Seqs of the two checkpoint entries, and of the head. */
  readonly firstCheckpoint: number;
  readonly lastCheckpoint: number;
}

/** Runs the ledger attacks (`pick` chooses a subset, for the fast tests). */
export async function runLedger(rt: RedTeamCloud, pick: (all: Attack[]) => Attack[] = (all) => all): Promise<Outcome[]> {
  const baseline = await prepare(rt);
  const alice = await rt.as('alice');
  const intact = await alice.verifyAudit();
  if (!intact.ok) return [outcome('ledger', 'the ledger before tampering', 'error', `does not verify: ${intact.reason}`)];
  const outcomes: Outcome[] = [];
  for (const attack of pick(attacks(rt, baseline))) {
    await attack.apply();
    const result = await alice.verifyAudit();
    outcomes.push(judge(attack, result));
    await restore(rt, baseline);
  }
  const after = await alice.verifyAudit();
  if (!after.ok) outcomes.push(outcome('ledger', 'the ledger after the attacks were undone', 'error', `does not verify: ${after.reason}`));
  return outcomes;
}

function judge(attack: Attack, result: { ok: boolean; firstBadSeq: number | null; reason?: string }): Outcome {
  if (result.ok) {
    return attack.bounded
      ? outcome('ledger', attack.name, 'residual', `verifies: ${attack.bounded}`)
      : outcome('ledger', attack.name, 'success', 'the tampered ledger verifies');
  }
  const evidence = `verify ok: false, firstBadSeq ${result.firstBadSeq} (${result.reason ?? 'no reason'})`;
  const from = attack.firstBadFrom ?? attack.firstBad;
  const named = result.firstBadSeq !== null && result.firstBadSeq >= from && result.firstBadSeq <= attack.firstBad;
  const expected = from === attack.firstBad ? `${attack.firstBad}` : `${from} to ${attack.firstBad}`;
  return outcome('ledger', attack.name, 'blocked', evidence, named ? undefined : `expected firstBadSeq ${expected}`);
}

/**
 * Two signed checkpoints with traffic between and after them, then the chain and its anchor as they stand. The
 * sequencer asks for a signed head after every batch, so a checkpoint asked for by hand may find nothing new: the
 * checkpoints are read from the anchor.
 */
async function prepare(rt: RedTeamCloud): Promise<Baseline> {
  const alice = await rt.as('alice');
  const settle = async () => {
    await rt.quiesce(800);
    await alice.checkpoint();
    await rt.ledger();
  };
  const traffic = async () => {
    const { commandId } = await alice.submit({ text: 'Ask edge to lookup_public_info about parking.', classification: { level: 'UNCLASSIFIED', compartments: [] } });
    await new CommandWatch(rt).settled(commandId);
  };
  await settle();
  const earlierAnchor = await getAnchor(rt);
  await traffic();
  await settle();
  await traffic();
  await rt.quiesce(800);
  const anchor = await getAnchor(rt);
  const [firstCheckpoint, lastCheckpoint] = [Number(earlierAnchor.entrySeq), Number(anchor.entrySeq)];
  if (!(lastCheckpoint > firstCheckpoint)) throw new Error('the signer wrote no second checkpoint');
  return { entries: (await rt.ledger()) as Entry[], anchor, earlierAnchor, firstCheckpoint, lastCheckpoint };
}

async function getAnchor(rt: RedTeamCloud): Promise<Record<string, unknown>> {
  const out = await rt.doc.send(new GetCommand({ TableName: rt.state.tables.ledger, Key: ANCHOR_KEY, ConsistentRead: true }));
  if (!out.Item) throw new Error('the checkpoint anchor is missing');
  return out.Item;
}

function attacks(rt: RedTeamCloud, b: Baseline): Attack[] {
  const table = rt.state.tables.ledger;
  const put = async (item: object) => void (await rt.doc.send(new PutCommand({ TableName: table, Item: item as Record<string, unknown> })));
  const del = async (seq: number) => void (await rt.doc.send(new DeleteCommand({ TableName: table, Key: { [CHAIN_KEY]: CHAIN, [SEQ_KEY]: seq } })));
  const { entries } = b;
  const n = entries.length;
  const at = (seq: number) => structuredClone(entries[seq - 1]);
  const mid = Math.floor(b.firstCheckpoint / 2);
  const covered = [...new Set([1, mid, b.firstCheckpoint + 2, b.lastCheckpoint - 1])];
  /** The last seq a checkpoint written before `seq` vouches for (0 when none). */
  const vouchedBefore = (seq: number) =>
    Math.max(0, ...entries.filter((e) => e.type === 'checkpoint' && e.seq < seq).map((e) => Number(e.detail?.seq ?? 0)));
  const rechain = async (from: number, change: (e: Entry) => void) => {
    let prev = from > 1 ? entries[from - 2].hash : undefined;
    for (let seq = from; seq <= n; seq++) {
      const e = at(seq);
      if (seq === from) change(e);
      if (prev !== undefined) e.prevHash = prev;
      const { hash: _old, ...unsealed } = e;
      e.hash = hashEntry(unsealed as never);
      prev = e.hash;
      await put(e);
    }
  };
  const renumber = async (from: number, by: 1 | -1) => {
    const moved = entries.filter((e) => e.seq >= from);
    for (const e of by > 0 ? [...moved].reverse() : moved) await put({ ...e, seq: e.seq + by });
    if (by < 0) await del(n);
  };
  const truncate = async (from: number) => {
    for (let seq = n; seq >= from; seq--) await del(seq);
  };

  const edits: Array<[string, (e: Entry) => void]> = [
    ['type', (e) => (e.type = e.type === 'tool.denied' ? 'tool.executed' : 'tool.denied')],
    ['actor', (e) => (e.actor = 'mallory')],
    ['reason', (e) => (e.reason = e.reason === 'NOT_AUTHORIZED' ? 'SCHEMA' : 'NOT_AUTHORIZED')],
    ['commandId', (e) => (e.commandId = '00000000-0000-4000-8000-000000000000')],
    ['detail', (e) => (e.detail = { ...(e.detail ?? {}), approvedBy: 'carol' })],
    ['digests', (e) => (e.digests = { ...(e.digests ?? {}), content: '0'.repeat(64) })],
    ['time', (e) => (e.at = '1999-12-31T23:59:59.000Z')],
    ['an added attribute', (e) => (e.approvedBy = 'carol')],
  ];
  const list: Attack[] = [];
  for (const seq of covered) {
    for (const [field, change] of edits) {
      list.push({ name: `edit ${field} of seq ${seq}`, firstBad: seq, apply: async () => { const e = at(seq); change(e); await put(e); } });
    }
    list.push({
      name: `edit seq ${seq} and recompute its hash`,
      firstBad: seq,
      apply: async () => { const e = at(seq); e.actor = 'mallory'; const { hash: _h, ...u } = e; e.hash = hashEntry(u as never); await put(e); },
    });
    list.push({
      name: `edit seq ${seq} and re-chain every entry after it`,
      firstBad: seq,
      firstBadFrom: vouchedBefore(seq) + 1,
      apply: () => rechain(seq, (e) => (e.actor = 'mallory')),
    });
    list.push({ name: `delete seq ${seq}`, firstBad: seq, apply: () => del(seq) });
    list.push({ name: `delete seq ${seq} and renumber the rest to close the gap`, firstBad: seq, apply: () => renumber(seq + 1, -1) });
    list.push({ name: `swap seq ${seq} and ${seq + 1}`, firstBad: seq, apply: async () => { await put({ ...at(seq + 1), seq }); await put({ ...at(seq), seq: seq + 1 }); } });
    list.push({
      name: `insert a forged, linked entry at seq ${seq + 1}`,
      firstBad: seq + 1,
      apply: async () => {
        await renumber(seq + 1, 1);
        await put(linkEntry(at(seq), { type: 'approval.recorded', actor: 'carol', commandId: at(seq).commandId }, { chain: CHAIN, at: new Date() }));
      },
    });
  }
  const cp = b.firstCheckpoint;
  list.push(
    { name: `copy seq 2 over seq ${mid} (a replayed entry)`, firstBad: mid, apply: () => put({ ...at(2), seq: mid }) },
    { name: `forge the signature of checkpoint seq ${cp}`, firstBad: cp, apply: () => rechain(cp, (e) => (e.digests = { ...e.digests, signature: Buffer.alloc(70, 1).toString('base64') })) },
    { name: `point checkpoint seq ${cp} at another hash`, firstBad: cp, apply: () => rechain(cp, (e) => (e.digests = { ...e.digests, hash: entries[0].hash })) },
    { name: `forge the tree head signature of checkpoint seq ${cp}`, firstBad: cp, apply: () => rechain(cp, (e) => (e.digests = { ...e.digests, treeSignature: forgedTreeSignature(e) })) },
    { name: `re-root the tree head of checkpoint seq ${cp}`, firstBad: cp, apply: () => rechain(cp, (e) => (e.digests = { ...e.digests, treeRoot: Buffer.alloc(32, 9).toString('base64') })) },
    { name: `roll the tree head of checkpoint seq ${cp} back one entry`, firstBad: cp, apply: () => rechain(cp, (e) => (e.detail = { ...e.detail, treeSize: Number(e.detail?.treeSize) - 1 })) },
    { name: `sign the tree head of checkpoint seq ${cp} with another key`, firstBad: cp, apply: () => rechain(cp, (e) => (e.digests = { ...e.digests, treeSignature: otherKeyTreeSignature(e) })) },
    { name: `truncate from seq ${b.lastCheckpoint} (the last checkpoint and after)`, firstBad: b.lastCheckpoint, apply: () => truncate(b.lastCheckpoint) },
    { name: `truncate from seq ${mid}`, firstBad: mid, apply: () => truncate(mid) },
    { name: 'forge the anchor signature', firstBad: n + 1, apply: () => put({ ...b.anchor, checkpoint: { ...(b.anchor.checkpoint as object), signature: Buffer.alloc(70, 2).toString('base64') } }) },
    { name: 'delete the anchor', firstBad: n + 1, apply: () => rt.doc.send(new DeleteCommand({ TableName: table, Key: ANCHOR_KEY })).then(() => undefined) },
    ...(n > b.lastCheckpoint
      ? [
          {
            name: `truncate the ${n - b.lastCheckpoint} entries after the last checkpoint`,
            firstBad: b.lastCheckpoint + 1,
            apply: () => truncate(b.lastCheckpoint + 1),
            bounded: UNSIGNED_TAIL,
          },
          {
            name: `edit seq ${n} and re-chain: inside the unsigned tail`,
            firstBad: n,
            apply: () => rechain(n, (e) => (e.actor = 'mallory')),
            bounded: UNSIGNED_TAIL,
          },
        ]
      : []),
    {
      name: `roll the anchor back to checkpoint seq ${cp} and truncate after it`,
      firstBad: cp + 1,
      apply: async () => { await put(b.earlierAnchor); await truncate(cp + 1); },
      bounded: 'needs write access to the anchor partition, which IAM gives the signer alone (lib/data-tables.ts); the emulator does not enforce IAM',
    },
    {
      name: `delete the anchor and truncate before the first checkpoint (seq ${cp})`,
      firstBad: cp,
      apply: async () => { await rt.doc.send(new DeleteCommand({ TableName: table, Key: ANCHOR_KEY })); await truncate(cp); },
      bounded: 'needs DeleteItem on the ledger, which IAM gives no one (lib/data-tables.ts); the emulator does not enforce IAM',
    },
  );
  return list;
}

/** Puts back every entry and the anchor as they were, and removes anything added after the baseline's head. */
async function restore(rt: RedTeamCloud, b: Baseline): Promise<void> {
  const table = rt.state.tables.ledger;
  const now = (await rt.ledger()) as Entry[];
  const stored = new Map(now.map((e) => [e.seq, JSON.stringify(e)]));
  for (const e of b.entries) if (stored.get(e.seq) !== JSON.stringify(e)) await rt.doc.send(new PutCommand({ TableName: table, Item: e }));
  for (const e of now) if (e.seq > b.entries.length) await rt.doc.send(new DeleteCommand({ TableName: table, Key: { [CHAIN_KEY]: CHAIN, [SEQ_KEY]: e.seq } }));
  await rt.doc.send(new PutCommand({ TableName: table, Item: b.anchor }));
}

/** The authority's key ID with a signature that is not one: the head names the right key, and fails its check. */
function forgedTreeSignature(e: Entry): string {
  const blob = Buffer.from(String(e.digests?.treeSignature ?? ''), 'base64');
  return Buffer.concat([blob.subarray(0, 4), Buffer.alloc(70, 3)]).toString('base64');
}

/** The head's own text signed by a key of the attacker's, under its own key ID. */
function otherKeyTreeSignature(e: Entry): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const note = treeHeadNoteOf(e as never);
  const text = note ? note.slice(0, note.lastIndexOf('\n\n') + 1) : '';
  const signature = sign('sha256', Buffer.from(text, 'utf8'), { key: privateKey, dsaEncoding: 'der' });
  return Buffer.concat([noteKeyId(publicKey), signature]).toString('base64');
}

