import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../../../functions/kernel/canonical';
import { CLOCK_SKEW_MS, DirectiveClaims, DirectiveVerifier } from '../../../functions/kernel/directives/directives';
import { EnvelopeCipher } from '../../../functions/kernel/messages/envelope-cipher';
import { Label, label } from '../../../functions/kernel/labels';
import { AgentMessage, MessageKind, newMessageId } from '../../../functions/kernel/messages/envelope';
import { PrepareMessageInput, ReceiveContext, prepareMessage, receiveMessage } from '../../../functions/kernel/messages/messaging';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { loadTopology } from '../../../functions/kernel/topology/topology';
import { createLevelKeys, createSigningKey, createTable, documentClient, kms, unique } from '../../support/aws';
import { refusal } from '../../support/refusal';
import { declassification as signedDeclassification } from '../directives/support';

/** Send and receive properties at their edges: the signer's one kind of message, deliveries, the replay window. */

const topology = loadTopology();
const DAY_MS = 86_400_000;
const RETENTION_MS = topology.runtime.messageRetentionDays * DAY_MS;
let cipher: EnvelopeCipher;
let authority: string;
let singleUse: SingleUseStore;
let verifier: DirectiveVerifier;

beforeAll(async () => {
  const [keys, key, table] = await Promise.all([createLevelKeys(), createSigningKey(), createTable(unique('nonces'), TABLES.nonces.partitionKey)]);
  authority = key;
  cipher = new EnvelopeCipher({ kms: kms(), keyArns: keys });
  singleUse = new SingleUseStore(documentClient(), table);
  verifier = new DirectiveVerifier({ kms: kms(), authorityKeyArn: authority });
});

interface Send {
  from: string;
  to: string;
  label: Label;
  kind?: MessageKind;
  commandId?: string;
  plaintext?: string;
  directive?: PrepareMessageInput['directive'];
  id?: string;
}

const send = (s: Send): Promise<AgentMessage> =>
  prepareMessage({ topology, cipher, kind: 'task', commandId: randomUUID(), principal: 'alice', plaintext: 'a task', ...s });

const receiver = (self: string, o: Partial<ReceiveContext> = {}): ReceiveContext => ({ self, topology, cipher, singleUse, verifier, ...o });

const declassification = (target: string, commandId: string, plaintext: string, o: Partial<DirectiveClaims> = {}) =>
  signedDeclassification(authority, target, commandId, plaintext, label('SECRET'), o);

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
    const directive = await declassification('edge', commandId, 'public', { label: label('CONFIDENTIAL'), declassifyTo: label('UNCLASSIFIED') });
    const delivery = { from: 'signer', kind: 'directive' as const, label: label('CONFIDENTIAL'), commandId, plaintext: '{}', directive };
    expect(await refusal(send({ ...delivery, to: 'scheduler' }))).toBe('BINDING_MISMATCH');
    await send({ ...delivery, to: 'core' });
  });
});

describe('a directive carried by an agent is used, not delivered', () => {
  it('a directive message from core is spent on receipt: the same directive in a second message is a REPLAY', async () => {
    const commandId = randomUUID();
    const plaintext = 'book a slot for [REDACTED-NAME]';
    const directive = await declassification('scheduler', commandId, plaintext);
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
