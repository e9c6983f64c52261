import { randomUUID } from 'node:crypto';
import { CommitmentPolicy, KmsKeyringNode, buildClient } from '@aws-crypto/client-node';
import { KMS } from '@aws-sdk/client-kms';
import { awsClientConfig } from '../../../functions/platform/aws-clients';
import { EnvelopeCipher, MESSAGE_SUITE, MessageAddress, encryptionContextOf, stateContextOf } from '../../../functions/kernel/messages/envelope-cipher';
import { isSecurityError } from '../../../functions/kernel/errors';
import { Level, label } from '../../../functions/kernel/labels';
import { createLevelKeys, emulatorEndpoint, kms } from '../../support/aws';
import { refusal } from '../../support/refusal';

/** Envelope-encryption properties at the edges: the exact context, the exact encoding, the keys it is built with. */

let keys: Record<Level, string>;
let cipher: EnvelopeCipher;
beforeAll(async () => {
  keys = await createLevelKeys();
  cipher = new EnvelopeCipher({ kms: kms(), keyArns: keys });
});

const address = (): MessageAddress => ({ from: 'core', to: 'analyst', label: label('SECRET', ['MEDICAL']), messageId: randomUUID(), commandId: randomUUID() });

const emulatorKms = () => new KMS(awsClientConfig({ endpoint: emulatorEndpoint() }));

/** What a forger with the level key's data-key rights can make with the Encryption SDK: the right suite, its own choices. */
async function forge(
  a: MessageAddress,
  { context = encryptionContextOf(a), extraKeys = [], plaintext = 'forged', frameLength }: { context?: Record<string, string>; extraKeys?: string[]; plaintext?: string; frameLength?: number },
): Promise<string> {
  const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new KmsKeyringNode({ generatorKeyId: keys[a.label.level], keyIds: extraKeys, clientProvider: emulatorKms });
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: context, suiteId: MESSAGE_SUITE, ...(frameLength ? { frameLength } : {}) });
  return result.toString('base64');
}

describe('the encryption context must match exactly (CONTEXT_MISMATCH)', () => {
  it('refuses a ciphertext sealed without the command id, so it cannot be spliced into any command', async () => {
    const a = address();
    const { commandId: _omitted, ...fewer } = encryptionContextOf(a);
    expect(await refusal(cipher.open({ ...a, ciphertext: await forge(a, { context: fewer }) }))).toBe('CONTEXT_MISMATCH');
  });

  it('refuses a ciphertext sealed with an extra context key, and names it', async () => {
    const a = address();
    const err: unknown = await cipher.open({ ...a, ciphertext: await forge(a, { context: { ...encryptionContextOf(a), priority: 'low' } }) }).catch((e: unknown) => e);
    expect(isSecurityError(err, 'CONTEXT_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(/differs in priority$/);
  });

  it('names exactly the context keys that differ, so an operator sees what was re-addressed', async () => {
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'x' });
    const err: unknown = await cipher.open({ ...a, to: 'auditor', commandId: randomUUID(), ciphertext }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/differs in commandId, to$/);
  });

  it('names the differing keys in order, whether the header lacks them or holds other values', async () => {
    const a = address();
    const { commandId: _omitted, ...fewer } = encryptionContextOf(a);
    const err: unknown = await cipher.open({ ...a, ciphertext: await forge(a, { context: { ...fewer, to: 'auditor' } }) }).catch((e: unknown) => e);
    expect(isSecurityError(err, 'CONTEXT_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(/differs in commandId, to$/);
  });
});

describe('a ciphertext is exactly its base64 text (TAMPERED)', () => {
  let sealed: MessageAddress & { ciphertext: string };
  beforeAll(async () => {
    const a = address();
    sealed = { ...a, ciphertext: await cipher.seal({ ...a, plaintext: 'hello' }) };
  });

  it.each([
    ['a line break inside it', (c: string) => `${c.slice(0, 8)}\n${c.slice(8)}`],
    ['a space inside it', (c: string) => `${c.slice(0, 8)} ${c.slice(8)}`],
    ['junk before it', (c: string) => `!!${c}`],
    ['junk after it', (c: string) => `${c}!!`],
    ['its padding removed', (c: string) => c.replace(/=+$/, '')],
  ])('refuses the ciphertext with %s, which a lenient decoder would skip', async (_what, edit) => {
    expect(edit(sealed.ciphertext)).not.toBe(sealed.ciphertext);
    expect(await refusal(cipher.open({ ...sealed, ciphertext: edit(sealed.ciphertext) }))).toBe('TAMPERED');
  });

  it('refuses an object that only converts to the right base64 text', async () => {
    const posing = { toString: () => sealed.ciphertext, valueOf: () => sealed.ciphertext };
    expect(await refusal(cipher.open({ ...sealed, ciphertext: posing as unknown as string }))).toBe('TAMPERED');
  });

  it('refuses a ciphertext that is not text at all', async () => {
    expect(await refusal(cipher.open({ ...sealed, ciphertext: Buffer.from(sealed.ciphertext, 'base64') as unknown as string }))).toBe('TAMPERED');
  });
});

describe('what the Encryption SDK may accept', () => {
  it('refuses a body whose data key is also wrapped under another key (one data key per message)', async () => {
    const a = address();
    expect(await refusal(cipher.open({ ...a, ciphertext: await forge(a, { extraKeys: [keys.TOP_SECRET] }) }))).toBe('TAMPERED');
  });

  it('refuses a body framed in pieces larger than an SQS message, which would have to be held whole', async () => {
    const a = address();
    const ciphertext = await forge(a, { plaintext: 'x'.repeat(300 * 1024), frameLength: 300 * 1024 });
    expect(await refusal(cipher.open({ ...a, ciphertext }))).toBe('TAMPERED');
  });

  it('a ciphertext KMS says was wrapped by another key is TAMPERED, not a fault to retry', async () => {
    const client = kms();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName === 'DecryptCommand') {
          throw Object.assign(new Error('IncorrectKeyException (injected)'), { name: 'IncorrectKeyException', $fault: 'client' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'incorrectKey' },
    );
    const a = address();
    const ciphertext = await cipher.seal({ ...a, plaintext: 'x' });
    expect(await refusal(new EnvelopeCipher({ kms: client, keyArns: keys }).open({ ...a, ciphertext }))).toBe('TAMPERED');
  });
});

describe('the cipher is built with a key for every level (fail closed)', () => {
  it('refuses an empty key ARN for a level', () => {
    expect(() => new EnvelopeCipher({ kms: kms(), keyArns: { ...keys, TOP_SECRET: '' } })).toThrow(/TOP_SECRET/);
  });
});

describe('sealed state opens to exactly what was sealed, or not at all', () => {
  const state = () => ({ owner: 'core', label: label('SECRET', ['MEDICAL']), commandId: randomUUID() });

  it('returns every byte sealed, binary included', async () => {
    const s = state();
    const plaintext = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const ciphertext = await cipher.sealState({ ...s, plaintext });
    expect(Buffer.compare(await new EnvelopeCipher({ kms: kms(), keyArns: keys }).openState({ ...s, ciphertext }), plaintext)).toBe(0);
  });

  it('refuses (TAMPERED) a ciphertext under the state context whose content is not sealed state', async () => {
    const s = state();
    const ciphertext = await forge({ ...address(), label: s.label }, { context: stateContextOf(s), plaintext: 'not sealed state' });
    expect(await refusal(cipher.openState({ ...s, ciphertext }))).toBe('TAMPERED');
  });
});
