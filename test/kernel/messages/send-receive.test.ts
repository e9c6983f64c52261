import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../../../functions/kernel/canonical';
import { CLOCK_SKEW_MS, DirectiveClaims, SignedDirective } from '../../../functions/kernel/directives/claims';
import { DirectiveVerifier } from '../../../functions/kernel/directives/verify';
import { EnvelopeCipher } from '../../../functions/kernel/messages/envelope-cipher';
import { Label, label } from '../../../functions/kernel/labels';
import { AgentMessage, MessageKind, newMessageId } from '../../../functions/kernel/messages/envelope';
import { ReceiveContext, prefetchMessage, receiveMessage } from '../../../functions/kernel/messages/receive';
import { prepareMessage } from '../../../functions/kernel/messages/send';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { loadTopology } from '../../../functions/kernel/topology/topology';
import { createLevelKeys, createSigningKey, createTable, documentClient, kms, unique } from '../../support/aws';
import { countingKms } from '../../support/kms-calls';
import { refusal } from '../../support/refusal';
import { RELEASE_SALT, declassification as signedDeclassification } from '../directives/support';
import { keyedDigest } from '../../../functions/kernel/keyed-digest';
import { saltBody } from '../../../functions/kernel/messages/salted-body';

const topology = loadTopology();
const DAY_MS = 86_400_000;
const RETENTION_MS = topology.runtime.messageRetentionDays * DAY_MS;
const counter = countingKms();
const principal = 'alice';
let cipher: EnvelopeCipher;
let authority: string;
let impostor: string;
let singleUse: SingleUseStore;
let verifier: DirectiveVerifier;

beforeAll(async () => {
  const [keys, a, i, table] = await Promise.all([
    createLevelKeys(),
    createSigningKey(),
    createSigningKey(),
    createTable(unique('nonces'), TABLES.nonces.partitionKey),
  ]);
  [authority, impostor] = [a, i];
  cipher = new EnvelopeCipher({ kms: counter.client, keyArns: keys });
  singleUse = new SingleUseStore(documentClient(), table, 'analyst');
  verifier = new DirectiveVerifier({ kms: kms(), authorityKeyArn: authority });
});

const receiver = (self: string, overrides: Partial<ReceiveContext> = {}): ReceiveContext => ({
  self,
  topology,
  cipher,
  singleUse,
  verifier,
  ...overrides,
});

interface Send {
  from: string;
  to: string;
  label: Label;
  kind?: MessageKind;
  commandId?: string;
  plaintext?: string;
  directive?: SignedDirective;
  id?: string;
  salt?: string;
}

/** The honest send pipeline. */
const send = async (s: Send): Promise<AgentMessage> =>
  prepareMessage({
    topology,
    cipher,
    kind: 'task',
    commandId: randomUUID(),
    principal,
    plaintext: 'a task',
    // The salt the test declassifications bind: a sender of a declassification sends under the salt it bound.
    salt: RELEASE_SALT,
    ...s,
  });

/**
 * What a compromised agent can do: write any body it likes and seal it with a data key it generated itself
 * (moto enforces no IAM, and on AWS its role could create data keys at or above its own level).
 */
async function forge(s: Send & Partial<AgentMessage>): Promise<string> {
  const id = s.id ?? newMessageId();
  const commandId = s.commandId ?? randomUUID();
  const plaintext = s.plaintext ?? 'forged';
  const sealed = saltBody(plaintext, RELEASE_SALT).sealed;
  const ciphertext = s.ciphertext ?? (await cipher.seal({ from: s.from, to: s.to, label: s.label, messageId: id, commandId, plaintext: sealed }));
  return JSON.stringify({
    v: 1,
    id,
    from: s.from,
    to: s.to,
    kind: s.kind ?? 'task',
    label: s.label,
    commandId,
    principal,
    ciphertext,
    contentDigest: s.contentDigest ?? keyedDigest(RELEASE_SALT, plaintext),
    ...(s.directive ? { directive: s.directive } : {}),
    sentAt: new Date().toISOString(),
  });
}

const declassification = (target: string, commandId: string, plaintext: string, o: Partial<DirectiveClaims> = {}, key = authority) =>
  signedDeclassification(key, target, commandId, plaintext, label('TOP_SECRET', ['MEDICAL']), o);


/** A declassification of SECRET content, signed by the authority. */
const secretDeclassification = (target: string, commandId: string, plaintext: string, o: Partial<DirectiveClaims> = {}) =>
  signedDeclassification(authority, target, commandId, plaintext, label('SECRET'), o);


const SECRET_MEDICAL = label('SECRET', ['MEDICAL']);

describe('the send pipeline', () => {
  it('an agent outside the topology cannot send (UNKNOWN_SENDER)', async () => {
    expect(await refusal(send({ from: 'mallory', to: 'core', label: label('UNCLASSIFIED') }))).toBe('UNKNOWN_SENDER');
  });

  it('an agent cannot send along an edge the topology lacks (NOT_AUTHORIZED)', async () => {
    expect(await refusal(send({ from: 'analyst', to: 'scheduler', label: SECRET_MEDICAL }))).toBe('NOT_AUTHORIZED');
    expect(await refusal(send({ from: 'edge', to: 'analyst', label: label('SECRET', ['MEDICAL']) }))).toBe('NOT_AUTHORIZED');
  });

  it('the API may send to core and nowhere else', async () => {
    await expect(send({ from: 'api', to: 'core', label: label('TOP_SECRET', ['FINANCE']) })).resolves.toMatchObject({ from: 'api', to: 'core' });
    expect(await refusal(send({ from: 'api', to: 'analyst', label: SECRET_MEDICAL }))).toBe('NOT_AUTHORIZED');
  });

  it('nothing is sent to an agent not cleared for its label (WRITE_DOWN)', async () => {
    expect(await refusal(send({ from: 'core', to: 'scheduler', label: label('SECRET') }))).toBe('WRITE_DOWN');
    expect(await refusal(send({ from: 'core', to: 'auditor', label: SECRET_MEDICAL }))).toBe('WRITE_DOWN');
  });

  it('a declassification cannot lower content to a label the receiver is still not cleared for (WRITE_DOWN)', async () => {
    const commandId = randomUUID();
    const directive = await declassification('scheduler', commandId, 'still secret', { declassifyTo: label('SECRET') });
    expect(await refusal(send({ from: 'core', to: 'scheduler', label: label('SECRET'), commandId, plaintext: 'still secret', directive }))).toBe('WRITE_DOWN');
  });

  it('an agent cannot write below its own level (WRITE_DOWN)', async () => {
    expect(await refusal(send({ from: 'analyst', to: 'core', label: label('CONFIDENTIAL') }))).toBe('WRITE_DOWN');
  });

  it('core writes at the label of what it read: a SECRET/MEDICAL subtask to the analyst needs no declassification', async () => {
    const message = await send({ from: 'core', to: 'analyst', label: SECRET_MEDICAL });
    expect(message.label).toEqual(SECRET_MEDICAL);
  });

  it('core cannot hand content to an agent not cleared for its label (WRITE_DOWN)', async () => {
    expect(await refusal(send({ from: 'core', to: 'edge', label: SECRET_MEDICAL }))).toBe('WRITE_DOWN');
  });

  it('only core may declassify: a directive does not let an effector write down', async () => {
    const commandId = randomUUID();
    const directive = await declassification('core', commandId, 'summary', { label: SECRET_MEDICAL, declassifyTo: label('CONFIDENTIAL') });
    expect(await refusal(send({ from: 'analyst', to: 'core', label: label('CONFIDENTIAL'), commandId, plaintext: 'summary', directive }))).toBe('WRITE_DOWN');
  });

  it('a declassified message must carry the lowered label the directive names', async () => {
    const commandId = randomUUID();
    const directive = await declassification('edge', commandId, 'public', { declassifyTo: label('CONFIDENTIAL') });
    const err = await refusal(send({ from: 'core', to: 'edge', label: label('UNCLASSIFIED'), commandId, plaintext: 'public', directive }));
    expect(err).toBe('BINDING_MISMATCH');
  });

  it('a declassification covers only the content it was signed for', async () => {
    const commandId = randomUUID();
    const directive = await declassification('scheduler', commandId, 'redacted summary');
    const err = await refusal(send({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext: 'patient John Smith', directive }));
    expect(err).toBe('BINDING_MISMATCH');
  });
});

describe('the receive pipeline', () => {
  describe('accepts what the send pipeline produced', () => {
    it('delivers a result from an effector to core', async () => {
      const message = await send({ from: 'analyst', to: 'core', kind: 'result', label: SECRET_MEDICAL, plaintext: 'treatment plan' });
      const received = await receiveMessage(JSON.stringify(message), receiver('core'));
      expect(received.plaintext.toString()).toBe('treatment plan');
      expect(received.message).toEqual(message);
      expect(received.directive).toBeUndefined();
    });

    it('delivers a command from the API to core', async () => {
      const message = await send({ from: 'api', to: 'core', label: label('TOP_SECRET', ['FINANCE', 'MEDICAL']), plaintext: 'plan the week' });
      expect((await receiveMessage(JSON.stringify(message), receiver('core'))).plaintext.toString()).toBe('plan the week');
    });

    it('delivers a declassified task with its verified directive', async () => {
      const commandId = randomUUID();
      const plaintext = 'book a slot for [REDACTED-NAME]';
      const directive = await declassification('scheduler', commandId, plaintext);
      const message = await send({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext, directive });
      const received = await receiveMessage(JSON.stringify(message), receiver('scheduler'));
      expect(received.plaintext.toString()).toBe(plaintext);
      expect(received.directive?.id).toBe(directive.claims.id);
    });
  });

  describe('refuses, in DESIGN §4 order, each with its reason code', () => {
    it('refuses a malformed body (SCHEMA)', async () => {
      expect(await refusal(receiveMessage('{"v":1,"kind":"task"}', receiver('core')))).toBe('SCHEMA');
    });

    it('refuses a message addressed to another agent (MISROUTED)', async () => {
      const message = await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL });
      expect(await refusal(receiveMessage(JSON.stringify(message), receiver('auditor')))).toBe('MISROUTED');
    });

    it('refuses a sender outside the topology (UNKNOWN_SENDER)', async () => {
      expect(await refusal(receiveMessage(await forge({ from: 'mallory', to: 'core', label: label('UNCLASSIFIED') }), receiver('core')))).toBe('UNKNOWN_SENDER');
    });

    it('refuses a message along an edge the topology lacks (NOT_AUTHORIZED)', async () => {
      const body = await forge({ from: 'edge', to: 'scheduler', label: label('CONFIDENTIAL') });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('NOT_AUTHORIZED');
    });

    it('a CONFIDENTIAL agent cannot read a SECRET message (READ_UP), and never asks KMS for it', async () => {
      const body = await forge({ from: 'core', to: 'scheduler', label: label('SECRET') });
      counter.reset();
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('READ_UP');
      expect(counter.calls).toEqual([]);
    });

    it('an agent without the MEDICAL compartment cannot read a MEDICAL message (READ_UP)', async () => {
      const body = await forge({ from: 'core', to: 'auditor', label: label('CONFIDENTIAL', ['MEDICAL']) });
      expect(await refusal(receiveMessage(body, receiver('auditor')))).toBe('READ_UP');
    });

    it('refuses an effector writing below its level, bypassing the send pipeline (WRITE_DOWN)', async () => {
      const body = await forge({ from: 'analyst', to: 'core', label: label('CONFIDENTIAL') });
      expect(await refusal(receiveMessage(body, receiver('core')))).toBe('WRITE_DOWN');
    });

    it('refuses an effector dropping a compartment of its clearance from what it writes (WRITE_DOWN)', async () => {
      const body = await forge({ from: 'analyst', to: 'core', label: label('SECRET') });
      expect(await refusal(receiveMessage(body, receiver('core')))).toBe('WRITE_DOWN');
    });

    it('refuses an effector writing below its own level (WRITE_DOWN)', async () => {
      const body = await forge({ from: 'analyst', to: 'core', label: label('CONFIDENTIAL') });
      expect(await refusal(receiveMessage(body, receiver('core')))).toBe('WRITE_DOWN');
    });

    it('refuses a ciphertext spliced into another envelope (CONTEXT_MISMATCH)', async () => {
      const original = await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL });
      const spliced = await forge({ from: 'analyst', to: 'core', label: SECRET_MEDICAL, commandId: original.commandId, ciphertext: original.ciphertext, plaintext: 'a task' });
      expect(await refusal(receiveMessage(spliced, receiver('core')))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses a message re-attributed to another sender (CONTEXT_MISMATCH)', async () => {
      const message = await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL });
      const reattributed = { ...message, from: 'auditor' };
      expect(await refusal(receiveMessage(JSON.stringify(reattributed), receiver('core')))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses a message relabelled upward (CONTEXT_MISMATCH)', async () => {
      const message = await send({ from: 'auditor', to: 'core', label: label('SECRET') });
      const relabelled = { ...message, label: label('TOP_SECRET') };
      expect(await refusal(receiveMessage(JSON.stringify(relabelled), receiver('core')))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses a tampered ciphertext (TAMPERED)', async () => {
      const message = await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL });
      const bytes = Buffer.from(message.ciphertext, 'base64');
      bytes[bytes.length - 5] ^= 0x10;
      expect(await refusal(receiveMessage(JSON.stringify({ ...message, ciphertext: bytes.toString('base64') }), receiver('core')))).toBe('TAMPERED');
    });

    it('refuses a content digest that does not match the body (TAMPERED)', async () => {
      const message = await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL, plaintext: 'real' });
      const lying = { ...message, contentDigest: sha256Hex('something the directive covers') };
      expect(await refusal(receiveMessage(JSON.stringify(lying), receiver('core')))).toBe('TAMPERED');
    });

    it('refuses a message delivered twice (REPLAY)', async () => {
      const body = JSON.stringify(await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL }));
      await receiveMessage(body, receiver('core'));
      expect(await refusal(receiveMessage(body, receiver('core')))).toBe('REPLAY');
    });

    it('refuses a message older than queue retention even if its id record is gone (REPLAY)', async () => {
      const body = JSON.stringify(await send({ from: 'analyst', to: 'core', label: SECRET_MEDICAL }));
      const later = Date.now() + (topology.runtime.messageRetentionDays + 1) * 86_400_000;
      expect(await refusal(receiveMessage(body, receiver('core', { now: () => later })))).toBe('REPLAY');
    });

    it('refuses a directive for another command (BINDING_MISMATCH)', async () => {
      const plaintext = 'redacted';
      const directive = await declassification('scheduler', randomUUID(), plaintext);
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), plaintext, directive });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('BINDING_MISMATCH');
    });

    it('refuses a directive addressed to another agent (BINDING_MISMATCH)', async () => {
      const commandId = randomUUID();
      const directive = await declassification('edge', commandId, 'x', { declassifyTo: label('UNCLASSIFIED') });
      const body = await forge({ from: 'core', to: 'scheduler', label: label('UNCLASSIFIED'), commandId, plaintext: 'x', directive });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('BINDING_MISMATCH');
    });

    it('refuses a declassification of other content (BINDING_MISMATCH)', async () => {
      const commandId = randomUUID();
      const directive = await declassification('scheduler', commandId, 'redacted summary');
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext: 'patient John Smith, door code 4711', directive });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('BINDING_MISMATCH');
    });

    it('refuses a declassification to another label than the message carries (BINDING_MISMATCH)', async () => {
      const commandId = randomUUID();
      const directive = await declassification('scheduler', commandId, 'x', { declassifyTo: label('UNCLASSIFIED') });
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext: 'x', directive });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('BINDING_MISMATCH');
    });

    it('refuses a declassification not signed by the authority (BAD_SIGNATURE)', async () => {
      const commandId = randomUUID();
      const forged = await declassification('scheduler', commandId, 'x', {}, impostor);
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext: 'x', directive: { ...forged, keyId: authority } });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('BAD_SIGNATURE');
    });

    it('refuses an expired declassification (EXPIRED)', async () => {
      const commandId = randomUUID();
      const directive = await declassification('scheduler', commandId, 'x');
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext: 'x', directive });
      const late = new DirectiveVerifier({ kms: kms(), authorityKeyArn: authority, now: () => directive.claims.expiresAt });
      expect(await refusal(receiveMessage(body, receiver('scheduler', { verifier: late })))).toBe('EXPIRED');
    });

    it('refuses a declassification used a second time, in a new message (REPLAY)', async () => {
      const commandId = randomUUID();
      const plaintext = 'redacted';
      const directive = await declassification('scheduler', commandId, plaintext);
      const first = await send({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext, directive });
      const second = await send({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext, directive });
      await receiveMessage(JSON.stringify(first), receiver('scheduler'));
      expect(await refusal(receiveMessage(JSON.stringify(second), receiver('scheduler')))).toBe('REPLAY');
    });
  });

  describe('order and side effects', () => {
    it('reports the first failed check: misrouted before unknown sender before edge before clearance', async () => {
      const body = await forge({ from: 'mallory', to: 'analyst', label: label('TOP_SECRET') });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('MISROUTED');
      expect(await refusal(receiveMessage(body, receiver('analyst')))).toBe('UNKNOWN_SENDER');
      const noEdge = await forge({ from: 'edge', to: 'scheduler', label: label('TOP_SECRET') });
      expect(await refusal(receiveMessage(noEdge, receiver('scheduler')))).toBe('NOT_AUTHORIZED');
    });

    it('checks the clearance before decrypting: a tampered message above clearance is READ_UP', async () => {
      const message = JSON.parse(await forge({ from: 'core', to: 'scheduler', label: label('SECRET') }));
      const tampered = { ...message, ciphertext: Buffer.from('garbage').toString('base64') };
      expect(await refusal(receiveMessage(JSON.stringify(tampered), receiver('scheduler')))).toBe('READ_UP');
    });

    it('a refused message spends neither its id nor its directive nonce', async () => {
      const commandId = randomUUID();
      const directive = await declassification('scheduler', commandId, 'x', { declassifyTo: label('UNCLASSIFIED') });
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext: 'x', directive });
      expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('BINDING_MISMATCH');
      const { id } = JSON.parse(body) as AgentMessage;
      await expect(singleUse.consume(`message#${id}`, Date.now() + 60_000)).resolves.toBeUndefined();
      await expect(singleUse.consume(`directive#${directive.claims.nonce}`, Date.now() + 60_000)).resolves.toBeUndefined();
    });

    it('a failed directive leaves the message id unspent, so a correct redelivery is not a replay', async () => {
      const commandId = randomUUID();
      const plaintext = 'redacted';
      const directive = await declassification('scheduler', commandId, plaintext);
      const body = await forge({ from: 'core', to: 'scheduler', label: label('CONFIDENTIAL'), commandId, plaintext, directive });
      const early = new DirectiveVerifier({ kms: kms(), authorityKeyArn: authority, now: () => directive.claims.issuedAt - 60_000 });
      expect(await refusal(receiveMessage(body, receiver('scheduler', { verifier: early })))).toBe('EXPIRED');
      await expect(receiveMessage(body, receiver('scheduler'))).resolves.toBeDefined();
    });
  });
});

describe('the decrypt that starts while a delivery is claimed (prefetchMessage)', () => {
  const prefetched = async (body: string, self: string) => {
    prefetchMessage(body, { self, topology, cipher });
    // Whatever the prefetch started has settled when a second, dependent call returns.
    await new Promise((r) => setTimeout(r, 200));
  };

  it('a message refused before decryption is never sent to KMS by the prefetch (READ_UP)', async () => {
    const body = await forge({ from: 'core', to: 'scheduler', label: label('SECRET') });
    counter.reset();
    await prefetched(body, 'scheduler');
    expect(counter.calls).toEqual([]);
    expect(await refusal(receiveMessage(body, receiver('scheduler')))).toBe('READ_UP');
    expect(counter.calls).toEqual([]);
  });

  it('a misrouted or malformed message is not opened ahead either', async () => {
    const message = await send({ from: 'analyst', to: 'core', kind: 'result', label: SECRET_MEDICAL });
    counter.reset();
    await prefetched(JSON.stringify(message), 'auditor');
    await prefetched('{"v":1', 'core');
    expect(counter.calls).toEqual([]);
  });

  it('a prefetched message costs one KMS Decrypt, and the pipeline still runs every check after it', async () => {
    const message = await send({ from: 'analyst', to: 'core', kind: 'result', label: SECRET_MEDICAL, plaintext: 'lab results' });
    counter.reset();
    prefetchMessage(JSON.stringify(message), { self: 'core', topology, cipher });
    const received = await receiveMessage(JSON.stringify(message), receiver('core'));
    expect(received.plaintext.toString()).toBe('lab results');
    expect(counter.calls).toEqual(['Decrypt']);
    // Consumed by that receipt: a prefetch does not let a copy through.
    prefetchMessage(JSON.stringify(message), { self: 'core', topology, cipher });
    expect(await refusal(receiveMessage(JSON.stringify(message), receiver('core')))).toBe('REPLAY');
  });

  it('a tampered ciphertext opened ahead is still refused by the pipeline (TAMPERED)', async () => {
    const message = await send({ from: 'analyst', to: 'core', kind: 'result', label: SECRET_MEDICAL });
    const bytes = Buffer.from(message.ciphertext, 'base64');
    bytes[bytes.length - 1] ^= 1;
    const body = JSON.stringify({ ...message, ciphertext: bytes.toString('base64') });
    await prefetched(body, 'core');
    expect(await refusal(receiveMessage(body, receiver('core')))).toBe('TAMPERED');
  });
});

describe('the signer is the authority\'s messenger: it sends directives and nothing else (NOT_AUTHORIZED)', () => {
  it('the send pipeline refuses a task from the signer', async () => {
    expect(await refusal(send({ from: 'signer', to: 'core', label: label('UNCLASSIFIED') }))).toBe('NOT_AUTHORIZED');
  });

  it('the receive pipeline refuses a task that claims to come from the signer', async () => {
    const id = newMessageId();
    const commandId = randomUUID();
    const forged = {
      v: 1, id, from: 'signer', to: 'core', kind: 'task', label: label('UNCLASSIFIED'), commandId, principal: 'alice',
      ciphertext: await cipher.seal({ from: 'signer', to: 'core', label: label('UNCLASSIFIED'), messageId: id, commandId, plaintext: 'do it' }),
      contentDigest: sha256Hex('do it'), sentAt: new Date().toISOString(),
    };
    expect(await refusal(receiveMessage(JSON.stringify(forged), receiver('core')))).toBe('NOT_AUTHORIZED');
  });

  it('the signer may deliver a declassification to core only (BINDING_MISMATCH)', async () => {
    const commandId = randomUUID();
    const directive = await secretDeclassification('edge', commandId, 'public', { label: label('CONFIDENTIAL'), declassifyTo: label('UNCLASSIFIED') });
    const delivery = { from: 'signer', kind: 'directive' as const, label: label('CONFIDENTIAL'), commandId, plaintext: '{}', directive };
    expect(await refusal(send({ ...delivery, to: 'scheduler' }))).toBe('BINDING_MISMATCH');
    await send({ ...delivery, to: 'core' });
  });
});

describe('a directive carried by an agent is used, not delivered', () => {
  it('a directive message from core is spent on receipt: the same directive in a second message is a REPLAY', async () => {
    const commandId = randomUUID();
    const plaintext = 'book a slot for [REDACTED-NAME]';
    const directive = await secretDeclassification('scheduler', commandId, plaintext);
    const message = { from: 'core', to: 'scheduler', kind: 'directive' as const, label: label('CONFIDENTIAL'), commandId, plaintext, directive };
    const [first, second] = [await send(message), await send(message)];
    await receiveMessage(JSON.stringify(first), receiver('scheduler'));
    expect(await refusal(receiveMessage(JSON.stringify(second), receiver('scheduler')))).toBe('REPLAY');
  });
});

describe('nothing malformed leaves the send pipeline (SCHEMA)', () => {
  it('refuses a command id that is not a UUID', async () => {
    expect(await refusal(send({ from: 'core', to: 'analyst', label: label('SECRET'), commandId: 'not-a-uuid' }))).toBe('SCHEMA');
  });
});

describe('the replay window is the queue retention plus the clock skew (REPLAY)', () => {
  const sentAt = (time: number) => send({ from: 'analyst', to: 'core', label: label('SECRET', ['MEDICAL']), id: newMessageId(time) });
  const T = Date.now() - DAY_MS;

  it('accepts a message sent a day ago, well within retention', async () => {
    await receiveMessage(JSON.stringify(await sentAt(T)), receiver('core'));
  });

  it('accepts a message up to the last millisecond of the window', async () => {
    const body = JSON.stringify(await sentAt(T));
    await receiveMessage(body, receiver('core', { now: () => T + RETENTION_MS + CLOCK_SKEW_MS - 1 }));
  });

  it('refuses a message from the first millisecond after the window, even if its id was never recorded', async () => {
    const body = JSON.stringify(await sentAt(T));
    expect(await refusal(receiveMessage(body, receiver('core', { now: () => T + RETENTION_MS + CLOCK_SKEW_MS })))).toBe('REPLAY');
  });
});
