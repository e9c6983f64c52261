import { randomUUID } from 'node:crypto';
import { EnvelopeCipher, MessageAddress } from '../../../functions/kernel/messages/envelope-cipher';
import { Level, label } from '../../../functions/kernel/labels';
import { RecentPlaintexts } from '../../../functions/kernel/messages/recent-plaintexts';
import { createLevelKeys } from '../../support/aws';
import { countingKms } from '../../support/kms-calls';
import { refusal } from '../../support/refusal';

let keys: Record<Level, string>;
const counter = countingKms();
let clock = 0;
let recent: RecentPlaintexts;
let cipher: EnvelopeCipher;

beforeAll(async () => {
  keys = await createLevelKeys();
});
beforeEach(() => {
  clock = 1_000_000;
  recent = new RecentPlaintexts({ maxAgeMs: 60_000, maxEntries: 4, now: () => clock });
  cipher = new EnvelopeCipher({ kms: counter.client, keyArns: keys, recent });
  counter.reset();
});

const address = (overrides: Partial<MessageAddress> = {}): MessageAddress => ({
  from: 'core',
  to: 'core',
  label: label('SECRET', ['MEDICAL']),
  messageId: randomUUID(),
  commandId: randomUUID(),
  ...overrides,
});


/** Flips one character of the base64 ciphertext inside its body, keeping it valid base64. */
function tamper(ciphertext: string): string {
  const i = Math.floor(ciphertext.length * 0.8);
  return ciphertext.slice(0, i) + (ciphertext[i] === 'A' ? 'B' : 'A') + ciphertext.slice(i + 1);
}

describe('reopening what a function sealed for itself or already opened', () => {
  it('a value sealed for the function itself reopens without a KMS call', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'the plan' });
    counter.reset();
    expect((await cipher.open({ ...a, ciphertext })).toString()).toBe('the plan');
    expect(counter.calls).toEqual([]);
  });

  it('a message opened once reopens without a KMS call', async () => {
    const sender = new EnvelopeCipher({ kms: counter.client, keyArns: keys });
    const a = address({ from: 'analyst' });
    const ciphertext = await sender.seal({ ...a, plaintext: 'a result' });
    counter.reset();
    await cipher.open({ ...a, ciphertext });
    await cipher.open({ ...a, ciphertext });
    expect(counter.calls).toEqual(['Decrypt']);
  });

  it('what the function sends to another agent is not kept: it could not read it back either', async () => {
    const a = address({ to: 'analyst' });
    await cipher.seal({ ...a, plaintext: 'a task' });
    expect(recent.size).toBe(0);
  });

  it('a remembered ciphertext under another context is refused as before (CONTEXT_MISMATCH), with no plaintext', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'the plan' });
    for (const other of [{ to: 'analyst' }, { messageId: randomUUID() }, { commandId: randomUUID() }, { label: label('SECRET') }]) {
      expect(await refusal(cipher.open({ ...a, ...other, ciphertext }))).toBe('CONTEXT_MISMATCH');
    }
  });

  it('a remembered ciphertext changed in one byte is not recalled: it fails authentication (TAMPERED)', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'the plan' });
    expect(await refusal(cipher.open({ ...a, ciphertext: tamper(ciphertext) }))).toBe('TAMPERED');
  });

  it('after its maximum age a remembered plaintext is read through KMS again', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'the plan' });
    clock += 60_000;
    counter.reset();
    expect((await cipher.open({ ...a, ciphertext })).toString()).toBe('the plan');
    expect(counter.calls).toEqual(['Decrypt']);
  });

  it('keeps at most maxEntries plaintexts, dropping the oldest', async () => {
    const sealed = [];
    for (let i = 0; i < 6; i++) {
      const a = address();
      sealed.push({ ...a, ciphertext: await cipher.seal({ ...a, plaintext: `plan ${i}` }) });
    }
    expect(recent.size).toBe(4);
    counter.reset();
    await cipher.open(sealed[0]);
    await cipher.open(sealed[5]);
    expect(counter.calls).toEqual(['Decrypt']);
  });

  it('a recalled plaintext is a copy: changing it changes nothing remembered', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'the plan' });
    (await cipher.open({ ...a, ciphertext })).fill(0);
    expect((await cipher.open({ ...a, ciphertext })).toString()).toBe('the plan');
  });
});
