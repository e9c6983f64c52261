import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { createLevelKeys, createSigningKey, kms } from '../support/aws';

describe('the emulator test bed', () => {
  it('serves KMS with one key per level and an asymmetric signing key', async () => {
    const keys = await createLevelKeys();
    expect(Object.keys(keys)).toEqual(['UNCLASSIFIED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET']);
    const signer = await createSigningKey();
    const sig = await kms().send(
      new SignCommand({ KeyId: signer, Message: Buffer.from('hello'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    expect(sig.Signature?.length).toBeGreaterThan(60);
    const pub = await kms().send(new GetPublicKeyCommand({ KeyId: signer }));
    const key = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
});
