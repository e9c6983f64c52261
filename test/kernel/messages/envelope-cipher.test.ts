import { randomUUID } from 'node:crypto';
import { CommitmentPolicy, KmsKeyringNode, buildClient } from '@aws-crypto/client-node';
import { KMS } from '@aws-sdk/client-kms';
import { awsClientConfig } from '../../../functions/platform/aws-clients';
import { EnvelopeCipher, MESSAGE_SUITE, MessageAddress, encryptionContextOf, stateContextOf } from '../../../functions/kernel/messages/envelope-cipher';
import { ReasonCode, isSecurityError } from '../../../functions/kernel/errors';
import { LEVELS, Level, label } from '../../../functions/kernel/labels';
import { createLevelKeys, emulatorEndpoint, kms } from '../../support/aws';
import { countingKms } from '../../support/kms-calls';
import { refusal } from '../../support/refusal';

let keys: Record<Level, string>;
let cipher: EnvelopeCipher;
const counter = countingKms();

beforeAll(async () => {
  keys = await createLevelKeys();
  cipher = new EnvelopeCipher({ kms: counter.client, keyArns: keys });
});

const address = (overrides: Partial<MessageAddress> = {}): MessageAddress => ({
  from: 'core',
  to: 'analyst',
  label: label('SECRET', ['MEDICAL']),
  messageId: randomUUID(),
  commandId: randomUUID(),
  ...overrides,
});

const emulatorKms = () => new KMS(awsClientConfig({ endpoint: emulatorEndpoint() }));

/**
 * What a forger with the level key's data-key rights can make with the Encryption SDK: the message suite, but
 * its own choice of context, extra wrapping keys, body and frame length.
 */
async function forgeWithSdk(
  a: MessageAddress,
  { context = encryptionContextOf(a), extraKeys = [], plaintext = 'forged', frameLength }: { context?: Record<string, string>; extraKeys?: string[]; plaintext?: string; frameLength?: number },
): Promise<string> {
  const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new KmsKeyringNode({ generatorKeyId: keys[a.label.level], keyIds: extraKeys, clientProvider: emulatorKms });
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: context, suiteId: MESSAGE_SUITE, ...(frameLength ? { frameLength } : {}) });
  return result.toString('base64');
}

describe('envelope encryption of message bodies', () => {
  it.each(LEVELS)('round-trips a body sealed at %s', async (level) => {
    const a = address({ label: label(level) });
    const ciphertext = await cipher.seal({ ...a, plaintext: `body at ${level} — ünïcödé` });
    const plaintext = await cipher.open({ ...a, ciphertext });
    expect(plaintext.toString('utf8')).toBe(`body at ${level} — ünïcödé`);
  });

  it('round-trips a binary body with compartments in the label', async () => {
    const a = address({ label: label('TOP_SECRET', ['MEDICAL', 'FINANCE']) });
    const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 256));
    expect((await cipher.open({ ...a, ciphertext: await cipher.seal({ ...a, plaintext: body }) })).equals(body)).toBe(true);
  });

  it('the ciphertext never contains the plaintext', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'patient John Smith, passcode 4711' });
    expect(Buffer.from(ciphertext, 'base64').includes('John Smith')).toBe(false);
  });

  describe('a ciphertext cannot be re-addressed, relabelled or spliced (CONTEXT_MISMATCH)', () => {
    let sealed: MessageAddress & { ciphertext: string };
    beforeAll(async () => {
      const a = address();
      sealed = { ...a, ciphertext: await cipher.seal({ ...a, plaintext: 'for the analyst only' }) };
    });

    it('refuses it for another recipient', async () => {
      expect(await refusal(cipher.open({ ...sealed, to: 'auditor' }))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses it from another sender', async () => {
      expect(await refusal(cipher.open({ ...sealed, from: 'scheduler' }))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses it under another label of the same level', async () => {
      expect(await refusal(cipher.open({ ...sealed, label: label('SECRET') }))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses it under another message id', async () => {
      expect(await refusal(cipher.open({ ...sealed, messageId: randomUUID() }))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses it under another command id', async () => {
      expect(await refusal(cipher.open({ ...sealed, commandId: randomUUID() }))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses a relabelled ciphertext before asking KMS for its data key', async () => {
      counter.reset();
      expect(await refusal(cipher.open({ ...sealed, label: label('CONFIDENTIAL', ['MEDICAL']) }))).toBe('CONTEXT_MISMATCH');
      expect(counter.calls).toEqual([]);
    });

    it('still opens it with the exact context', async () => {
      expect((await cipher.open(sealed)).toString()).toBe('for the analyst only');
    });

    it('refuses a ciphertext sealed without the command id, so it cannot be spliced into any command', async () => {
      const a = address();
      const { commandId: _omitted, ...fewer } = encryptionContextOf(a);
      expect(await refusal(cipher.open({ ...a, ciphertext: await forgeWithSdk(a, { context: fewer }) }))).toBe('CONTEXT_MISMATCH');
    });

    it('refuses a ciphertext sealed with an extra context key, and names that key', async () => {
      const a = address();
      const err: unknown = await cipher.open({ ...a, ciphertext: await forgeWithSdk(a, { context: { ...encryptionContextOf(a), priority: 'low' } }) }).catch((e: unknown) => e);
      expect(isSecurityError(err, 'CONTEXT_MISMATCH')).toBe(true);
      expect((err as Error).message).toMatch(/differs in priority$/);
    });

    it('names exactly the context keys that differ, sorted, so an operator sees what was re-addressed', async () => {
      const a = address();
      const ciphertext = await cipher.seal({ ...a, plaintext: 'x' });
      const err: unknown = await cipher.open({ ...a, to: 'auditor', commandId: randomUUID(), ciphertext }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/differs in commandId, to$/);
    });

    it('names the differing keys in order, whether the header lacks them or holds other values', async () => {
      const a = address();
      const { commandId: _omitted, ...fewer } = encryptionContextOf(a);
      const err: unknown = await cipher.open({ ...a, ciphertext: await forgeWithSdk(a, { context: { ...fewer, to: 'auditor' } }) }).catch((e: unknown) => e);
      expect(isSecurityError(err, 'CONTEXT_MISMATCH')).toBe(true);
      expect((err as Error).message).toMatch(/differs in commandId, to$/);
    });
  });

  describe('integrity (TAMPERED)', () => {
    let a: MessageAddress;
    let bytes: Buffer;
    beforeAll(async () => {
      a = address();
      bytes = Buffer.from(await cipher.seal({ ...a, plaintext: 'x'.repeat(32) }), 'base64');
    });

    it('refuses the ciphertext with any single byte flipped', async () => {
      const flipAt = (i: number) => {
        const flipped = Buffer.from(bytes);
        flipped[i] ^= 0x01;
        return refusal(cipher.open({ ...a, ciphertext: flipped.toString('base64') }));
      };
      const reasons: ReasonCode[] = [];
      for (let i = 0; i < bytes.length; i += 8) {
        reasons.push(...(await Promise.all(Array.from({ length: Math.min(8, bytes.length - i) }, (_, j) => flipAt(i + j)))));
      }
      expect(reasons).toHaveLength(bytes.length);
      // A flip inside an encryption-context value reads as a different context; elsewhere it is tampering.
      // (moto answers AccessDenied, not InvalidCiphertext as AWS does, when the key id inside its blob is hit.)
      for (const reason of reasons) expect(['TAMPERED', 'CONTEXT_MISMATCH', 'NOT_AUTHORIZED']).toContain(reason);
      expect(reasons).toContain('TAMPERED');
    });

    it('refuses a flipped byte in the encrypted body or its tag as TAMPERED', async () => {
      for (const i of [bytes.length - 1, bytes.length - 20, bytes.length - 40]) {
        const flipped = Buffer.from(bytes);
        flipped[i] ^= 0x80;
        expect(await refusal(cipher.open({ ...a, ciphertext: flipped.toString('base64') }))).toBe('TAMPERED');
      }
    });

    it('refuses a truncated ciphertext at every length', async () => {
      for (let n = 0; n < bytes.length; n += 13) {
        expect(await refusal(cipher.open({ ...a, ciphertext: bytes.subarray(0, n).toString('base64') }))).toBe('TAMPERED');
      }
      expect(await refusal(cipher.open({ ...a, ciphertext: bytes.subarray(0, bytes.length - 1).toString('base64') }))).toBe('TAMPERED');
    });

    it('refuses text that is not base64', async () => {
      expect(await refusal(cipher.open({ ...a, ciphertext: 'not base64!' }))).toBe('TAMPERED');
    });

    describe('a ciphertext is exactly its base64 text, nothing a lenient decoder would accept', () => {
      let sealed: MessageAddress & { ciphertext: string };
      beforeAll(async () => {
        const s = address();
        sealed = { ...s, ciphertext: await cipher.seal({ ...s, plaintext: 'hello' }) };
      });

      it.each([
        ['a line break inside it', (c: string) => `${c.slice(0, 8)}\n${c.slice(8)}`],
        ['a space inside it', (c: string) => `${c.slice(0, 8)} ${c.slice(8)}`],
        ['junk before it', (c: string) => `!!${c}`],
        ['junk after it', (c: string) => `${c}!!`],
        ['its padding removed', (c: string) => c.replace(/=+$/, '')],
      ])('refuses (TAMPERED) the ciphertext with %s, which a lenient decoder would skip', async (_what, edit) => {
        expect(edit(sealed.ciphertext)).not.toBe(sealed.ciphertext);
        expect(await refusal(cipher.open({ ...sealed, ciphertext: edit(sealed.ciphertext) }))).toBe('TAMPERED');
      });

      it('refuses (TAMPERED) an object that only converts to the right base64 text', async () => {
        const posing = { toString: () => sealed.ciphertext, valueOf: () => sealed.ciphertext };
        expect(await refusal(cipher.open({ ...sealed, ciphertext: posing as unknown as string }))).toBe('TAMPERED');
      });

      it('refuses (TAMPERED) a ciphertext given as raw bytes instead of text', async () => {
        expect(await refusal(cipher.open({ ...sealed, ciphertext: Buffer.from(sealed.ciphertext, 'base64') as unknown as string }))).toBe('TAMPERED');
      });
    });
  });

  describe('only the key of the claimed level unwraps a body', () => {
    // A forger whose keyring maps one level's name to another level's key: the context says one level,
    // the data key is wrapped by the other.
    const forge = async (claimed: Level, actualKeyOf: Level) => {
      const forger = new EnvelopeCipher({ kms: kms(), keyArns: { ...keys, [claimed]: keys[actualKeyOf] } });
      const a = address({ label: label(claimed) });
      return { ...a, ciphertext: await forger.seal({ ...a, plaintext: 'forged' }) };
    };

    it('refuses a body made under the SECRET key but labelled CONFIDENTIAL', async () => {
      expect(await refusal(cipher.open(await forge('CONFIDENTIAL', 'SECRET')))).toBe('TAMPERED');
    });

    it('refuses a body made under the CONFIDENTIAL key but labelled SECRET', async () => {
      expect(await refusal(cipher.open(await forge('SECRET', 'CONFIDENTIAL')))).toBe('TAMPERED');
    });

    it('refuses a body made under the UNCLASSIFIED key but labelled TOP_SECRET', async () => {
      expect(await refusal(cipher.open(await forge('TOP_SECRET', 'UNCLASSIFIED')))).toBe('TAMPERED');
    });
  });

  describe('cost and key hygiene', () => {
    it('seal makes exactly one KMS call (GenerateDataKey)', async () => {
      counter.reset();
      await cipher.seal({ ...address(), plaintext: 'one call' });
      expect(counter.calls).toEqual(['GenerateDataKey']);
    });

    it('open makes exactly one KMS call (Decrypt)', async () => {
      const a = address();
      const ciphertext = await cipher.seal({ ...a, plaintext: 'one call' });
      counter.reset();
      await cipher.open({ ...a, ciphertext });
      expect(counter.calls).toEqual(['Decrypt']);
    });

    it('uses a fresh data key for every message, even for identical bodies and addresses', async () => {
      const a = address();
      counter.reset();
      const first = await cipher.seal({ ...a, plaintext: 'same' });
      const second = await cipher.seal({ ...a, plaintext: 'same' });
      expect(first).not.toBe(second);
      expect(counter.calls).toEqual(['GenerateDataKey', 'GenerateDataKey']);
    });

    it('seals with the committing suite without a message signature', async () => {
      const bytes = Buffer.from(await cipher.seal({ ...address(), plaintext: 'suite' }), 'base64');
      expect(bytes[0]).toBe(2); // message format version 2
      expect(bytes.readUInt16BE(1)).toBe(MESSAGE_SUITE);
      expect(MESSAGE_SUITE).toBe(0x0478);
    });

    it('refuses a body sealed under any other algorithm suite, even with the right key and context', async () => {
      const a = address();
      const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const keyring = new KmsKeyringNode({ generatorKeyId: keys[a.label.level], clientProvider: emulatorKms });
      const { result } = await encrypt(keyring, 'signed suite', { encryptionContext: encryptionContextOf(a) });
      expect(await refusal(cipher.open({ ...a, ciphertext: result.toString('base64') }))).toBe('TAMPERED');
    });

    it('refuses (TAMPERED) a body whose data key is also wrapped under another key: one wrapped data key per message', async () => {
      const a = address();
      expect(await refusal(cipher.open({ ...a, ciphertext: await forgeWithSdk(a, { extraKeys: [keys.TOP_SECRET] }) }))).toBe('TAMPERED');
    });

    it('refuses (TAMPERED) a body framed in pieces larger than an SQS message, which would have to be held whole', async () => {
      const a = address();
      const ciphertext = await forgeWithSdk(a, { plaintext: 'x'.repeat(300 * 1024), frameLength: 300 * 1024 });
      expect(await refusal(cipher.open({ ...a, ciphertext }))).toBe('TAMPERED');
    });
  });

  describe('faults are not mistaken for tampering', () => {
    const failingDecrypt = (name: string) => {
      const c = countingKms();
      c.client.middlewareStack.add(
        (next, context) => async (args) => {
          if ((context as { commandName?: string }).commandName === 'DecryptCommand') {
            throw Object.assign(new Error(`${name} (injected)`), { name, $fault: 'client' });
          }
          return next(args);
        },
        { step: 'initialize', name: 'injectFault' },
      );
      return new EnvelopeCipher({ kms: c.client, keyArns: keys });
    };

    it('surfaces a throttled KMS as the original, retryable error', async () => {
      const a = address();
      const ciphertext = await cipher.seal({ ...a, plaintext: 'retry me' });
      const err = await failingDecrypt('ThrottlingException').open({ ...a, ciphertext }).catch((e: unknown) => e);
      expect(isSecurityError(err)).toBe(false);
      expect((err as Error).name).toBe('ThrottlingException');
    });

    it('turns an IAM denial of the key into NOT_AUTHORIZED', async () => {
      const a = address();
      const ciphertext = await cipher.seal({ ...a, plaintext: 'not yours' });
      expect(await refusal(failingDecrypt('AccessDeniedException').open({ ...a, ciphertext }))).toBe('NOT_AUTHORIZED');
    });

    it('a ciphertext KMS says was wrapped by another key (IncorrectKeyException) is TAMPERED, not a fault to retry', async () => {
      const a = address();
      const ciphertext = await cipher.seal({ ...a, plaintext: 'x' });
      expect(await refusal(failingDecrypt('IncorrectKeyException').open({ ...a, ciphertext }))).toBe('TAMPERED');
    });
  });

  describe('sealed state opens to exactly what was sealed, or not at all', () => {
    const state = () => ({ owner: 'core', label: label('SECRET', ['MEDICAL']), commandId: randomUUID() });

    it('returns every byte sealed, binary included, to another instance of the cipher', async () => {
      const s = state();
      const plaintext = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const ciphertext = await cipher.sealState({ ...s, plaintext });
      expect(Buffer.compare(await new EnvelopeCipher({ kms: kms(), keyArns: keys }).openState({ ...s, ciphertext }), plaintext)).toBe(0);
    });

    it('refuses (TAMPERED) a ciphertext under the state context whose content is not sealed state', async () => {
      const s = state();
      const ciphertext = await forgeWithSdk({ ...address(), label: s.label }, { context: stateContextOf(s), plaintext: 'not sealed state' });
      expect(await refusal(cipher.openState({ ...s, ciphertext }))).toBe('TAMPERED');
    });
  });

  it('binds exactly from, to, label, message id and command id into the context, and each compartment as a key of its own', () => {
    const a = address({ label: label('TOP_SECRET', ['MEDICAL', 'FINANCE']) });
    expect(encryptionContextOf(a)).toEqual({
      from: 'core',
      to: 'analyst',
      label: 'TOP_SECRET/FINANCE+MEDICAL',
      messageId: a.messageId,
      commandId: a.commandId,
      'compartment-FINANCE': 'FINANCE',
      'compartment-MEDICAL': 'MEDICAL',
    });
    expect(encryptionContextOf(address({ label: label('SECRET') }))).not.toHaveProperty('compartment-MEDICAL');
  });

  it('a ciphertext whose compartment keys were stripped does not open as its label', async () => {
    const a = address({ label: label('SECRET', ['MEDICAL']) });
    const { 'compartment-MEDICAL': _dropped, ...stripped } = encryptionContextOf(a);
    const ciphertext = await forgeWithSdk(a, { context: stripped });
    expect(await refusal(cipher.open({ ...a, ciphertext }))).toBe('CONTEXT_MISMATCH');
  });

  it('refuses to be built without a key for every level', () => {
    const { SECRET: _omitted, ...partial } = { UNCLASSIFIED: 'a', CONFIDENTIAL: 'b', SECRET: 'c', TOP_SECRET: 'd' };
    expect(() => new EnvelopeCipher({ kms: kms(), keyArns: partial as Record<Level, string> })).toThrow(/SECRET/);
  });

  it('refuses to be built with an empty key ARN for a level, and names the level', () => {
    expect(() => new EnvelopeCipher({ kms: kms(), keyArns: { ...keys, TOP_SECRET: '' } })).toThrow(/TOP_SECRET/);
  });
});

describe('opens of one message in progress at once share one KMS call', () => {
  const message = (): MessageAddress => ({ from: 'core', to: 'analyst', label: label('SECRET', ['MEDICAL']), messageId: randomUUID(), commandId: randomUUID() });

  it('a second open of the same bytes under the same context waits for the first: one Decrypt', async () => {
    const counter = countingKms();
    const cipher = new EnvelopeCipher({ kms: counter.client, keyArns: await createLevelKeys(counter.client) });
    const address = message();
    const ciphertext = await cipher.seal({ ...address, plaintext: 'one call' });
    counter.reset();
    const [a, b] = await Promise.all([cipher.open({ ...address, ciphertext }), cipher.open({ ...address, ciphertext })]);
    expect([a.toString(), b.toString()]).toEqual(['one call', 'one call']);
    expect(counter.calls).toEqual(['Decrypt']);
    // Each caller has its own copy of the plaintext.
    a.fill(0);
    expect(b.toString()).toBe('one call');
  });

  it('an open that has not answered for five seconds is not waited on: the next open asks KMS itself', async () => {
    const client = kms();
    const keyArns = await createLevelKeys(client);
    let hang = true;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DecryptCommand' && hang) {
          hang = false;
          return new Promise<never>(() => undefined);
        }
        return next(args);
      },
      { step: 'initialize', name: 'firstDecryptHangs' },
    );
    const cipher = new EnvelopeCipher({ kms: client, keyArns });
    const address = message();
    const ciphertext = await cipher.seal({ ...address, plaintext: 'after a hang' });
    const clock = jest.spyOn(Date, 'now');
    try {
      const start = Date.now();
      clock.mockReturnValue(start);
      cipher.prefetch({ ...address, ciphertext });
      clock.mockReturnValue(start + 5_001);
      expect((await cipher.open({ ...address, ciphertext })).toString()).toBe('after a hang');
    } finally {
      clock.mockRestore();
    }
  });
});
