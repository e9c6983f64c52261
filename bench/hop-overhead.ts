import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keyedDigest, newDigestSalt } from '../functions/kernel/keyed-digest';
import { SignedDirective, newDirectiveNonce } from '../functions/kernel/directives/claims';
import { DirectiveVerifier } from '../functions/kernel/directives/verify';
import { EnvelopeCipher } from '../functions/kernel/messages/envelope-cipher';
import { Label, formatLabel, label } from '../functions/kernel/labels';
import { LedgerWriter } from '../functions/kernel/ledger/ledger';
import { receiveMessage } from '../functions/kernel/messages/receive';
import { prepareMessage } from '../functions/kernel/messages/send';
import { SingleUseStore } from '../functions/kernel/messages/single-use';
import { Topology } from '../functions/kernel/topology/topology';
import { Summary, summarize } from './stats';
import { STUB_AUTHORITY_ARN, STUB_KEY_ARNS, stubKms } from './stub-kms';

/**
 * The kernel's own time per hop: everything the sender's and the receiver's kernels do for one message, with
 * KMS and DynamoDB replaced by in-memory stubs (precomputed data keys; writes that succeed at once), so what is
 * timed is the envelope crypto, the checks, directive verification and ledger hashing, and no I/O at all.
 *
 * One hop = sender `prepareMessage` (edge, clearance and write-down checks, seal, schema) and the SQS body's
 * JSON, the sender's `message.sent` ledger append (validation, canonical JSON, SHA-256), then receiver
 * `receiveMessage` (schema, routing, clearance, open, digest, replay window, single-use consumption).
 */

export interface HopOverheadOptions {
  readonly topology: Topology;
  /** Plaintext bytes per message. @default 4096 (DESIGN §3's measurement size) */
  readonly bodyBytes?: number;
  /** Timed hops of each kind, after as many untimed warm-up hops as a quarter of this. @default 2000 */
  readonly iterations?: number;
}

export interface HopOverheadResult {
  readonly bodyBytes: number;
  /** core → analyst task at SECRET/MEDICAL, as the standard command's hops (microseconds). */
  readonly plain: Summary;
  /** core → edge declassified task carrying a signed directive: adds signature, expiry and binding checks. */
  readonly directive: Summary;
  /** p50 of each part of a plain hop (microseconds); `checks` is the hop minus the other three. */
  readonly parts: { readonly seal: number; readonly open: number; readonly ledger: number; readonly checks: number };
}

/** A document client whose writes succeed at once and whose queries find nothing (an empty chain head). */
const nullDocumentClient = {
  send: async (command: object) => (command.constructor.name === 'QueryCommand' ? { Items: [] } : {}),
} as unknown as DynamoDBDocumentClient;

interface Hop {
  readonly from: string;
  readonly to: string;
  readonly label: Label;
  readonly commandId: string;
  readonly directive?: SignedDirective;
  /** The salt the directive's content digest is keyed with: the sender sends under it. */
  readonly salt?: string;
}

export async function measureHopOverhead(options: HopOverheadOptions): Promise<HopOverheadResult> {
  const { topology } = options;
  const bodyBytes = options.bodyBytes ?? 4096;
  const iterations = options.iterations ?? 2000;
  const kms = stubKms();
  const timing = { seal: 0, open: 0 };
  const cipher = timedCipher(new EnvelopeCipher({ kms: kms.client, keyArns: STUB_KEY_ARNS }), timing);
  const ledger = new LedgerWriter({ doc: nullDocumentClient, tableName: 'ledger' });
  const singleUse = new SingleUseStore(nullDocumentClient, 'nonces', 'analyst');
  const verifier = new DirectiveVerifier({ kms: kms.client, authorityKeyArn: STUB_AUTHORITY_ARN });
  const plaintext = 'x'.repeat(bodyBytes);

  const hop = async (h: Hop) => {
    const m = await prepareMessage({ topology, cipher, from: h.from, to: h.to, kind: 'task', label: h.label, commandId: h.commandId, principal: 'alice', plaintext, directive: h.directive, salt: h.salt });
    const body = JSON.stringify(m);
    const before = performance.now();
    await ledger.append({
      type: 'message.sent',
      actor: h.from,
      commandId: h.commandId,
      messageId: m.id,
      directiveId: h.directive?.claims.id,
      digests: { content: m.contentDigest },
      detail: { to: h.to, kind: 'task', label: formatLabel(h.label) },
    });
    const ledgerMs = performance.now() - before;
    await receiveMessage(body, { self: h.to, topology, cipher, singleUse, verifier });
    return ledgerMs;
  };
  const run = async (h: () => Hop, n: number, record?: (total: number, ledgerMs: number) => void) => {
    for (let i = 0; i < n; i++) {
      const next = h();
      timing.seal = timing.open = 0;
      const start = performance.now();
      const ledgerMs = await hop(next);
      record?.(performance.now() - start, ledgerMs);
    }
  };

  const plainHop = (): Hop => ({ from: 'core', to: 'analyst', label: label('SECRET', ['MEDICAL']), commandId: randomUUID() });
  const plain: number[] = [];
  const parts = { seal: [] as number[], open: [] as number[], ledger: [] as number[], checks: [] as number[] };
  await run(plainHop, Math.ceil(iterations / 4));
  await run(plainHop, iterations, (total, ledgerMs) => {
    plain.push(total * 1000);
    parts.seal.push(timing.seal * 1000);
    parts.open.push(timing.open * 1000);
    parts.ledger.push(ledgerMs * 1000);
    parts.checks.push((total - timing.seal - timing.open - ledgerMs) * 1000);
  });

  const declassified = declassifiedHop(kms.signDirective, plaintext);
  const directive: number[] = [];
  await run(() => declassified, Math.ceil(iterations / 4));
  await run(() => declassified, iterations, (total) => directive.push(total * 1000));

  return {
    bodyBytes,
    plain: summarize(plain),
    directive: summarize(directive),
    parts: {
      seal: summarize(parts.seal).p50,
      open: summarize(parts.open).p50,
      ledger: summarize(parts.ledger).p50,
      checks: summarize(parts.checks).p50,
    },
  };
}

/** core → edge at UNCLASSIFIED under a declassification directive bound to the content (DESIGN §6). */
function declassifiedHop(sign: (claims: SignedDirective['claims']) => SignedDirective, plaintext: string): Hop {
  const commandId = randomUUID();
  const salt = newDigestSalt();
  const now = Date.now();
  const directive = sign({
    v: 1,
    id: randomUUID(),
    nonce: newDirectiveNonce(),
    kind: 'declassify',
    // Valid for the whole measurement; the stub single-use store lets the one directive be used again.
    issuedAt: now,
    expiresAt: now + 3_600_000,
    principal: 'alice',
    commandId,
    target: 'edge',
    contentDigest: keyedDigest(salt, plaintext),
    declassifyTo: label('UNCLASSIFIED'),
    label: label('SECRET'),
  });
  return { from: 'core', to: 'edge', label: label('UNCLASSIFIED'), commandId, directive, salt };
}

/** The cipher with the time spent in `seal` and `open` added to `timing` (milliseconds). */
function timedCipher(cipher: EnvelopeCipher, timing: { seal: number; open: number }): EnvelopeCipher {
  return {
    seal: async (input: Parameters<EnvelopeCipher['seal']>[0]) => {
      const start = performance.now();
      try {
        return await cipher.seal(input);
      } finally {
        timing.seal += performance.now() - start;
      }
    },
    open: async (input: Parameters<EnvelopeCipher['open']>[0]) => {
      const start = performance.now();
      try {
        return await cipher.open(input);
      } finally {
        timing.open += performance.now() - start;
      }
    },
  } as EnvelopeCipher;
}
