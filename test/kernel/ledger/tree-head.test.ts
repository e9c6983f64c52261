import { generateKeyPairSync, sign } from 'node:crypto';
import { authorityPublicKey } from '../../../functions/kernel/directives/verify';
import { isSecurityError } from '../../../functions/kernel/errors';
import { EMPTY_ROOT, leafHash, rootOf } from '../../../functions/kernel/ledger/merkle';
import {
  NoteSigner,
  kmsNoteSigner,
  noteKeyId,
  openTreeHead,
  parseVerifierKey,
  signTreeHead,
  treeHeadText,
  verifierKeyOf,
} from '../../../functions/kernel/ledger/tree-head';
import { createSigningKey, kms } from '../../support/aws';

/** Signed tree heads as C2SP checkpoints (c2sp.org/tlog-checkpoint over c2sp.org/signed-note, ECDSA type 0x02). */

const ORIGIN = 'agentsec.example/ledger';
const localSigner = (name = ORIGIN) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer: NoteSigner = { name, keyId: noteKeyId(publicKey), sign: async (m) => sign('sha256', m, { key: privateKey, dsaEncoding: 'der' }) };
  return { signer, vkey: verifierKeyOf(name, publicKey) };
};
const head = { origin: ORIGIN, size: 3, rootHash: rootOf(['a', 'b', 'c'].map((x) => leafHash(Buffer.from(x)))) };

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isSecurityError(err, 'TAMPERED')) return err.message;
    throw err;
  }
  return 'accepted';
};

describe('signed tree heads', () => {
  it('are C2SP checkpoints: origin, decimal size, base64 root, a blank line, an em-dash signature line of key ID and signature', async () => {
    const { signer } = localSigner();
    const note = await signTreeHead(head, signer);
    const [text, signatures] = note.split('\n\n');
    expect(text + '\n').toBe(`${ORIGIN}\n3\n${head.rootHash.toString('base64')}\n`);
    expect(signatures).toMatch(new RegExp(`^\u2014 ${ORIGIN.replace('.', '\\.')} [A-Za-z0-9+/]+=*\\n$`));
    const blob = Buffer.from(signatures.split(' ')[2], 'base64');
    expect(blob.subarray(0, 4)).toEqual(signer.keyId);
    expect(treeHeadText({ origin: ORIGIN, size: 0, rootHash: EMPTY_ROOT })).toBe(`${ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`);
  });

  it('open with the verifier key alone, and the key ID is SHA-256 of the DER SubjectPublicKeyInfo', async () => {
    const { signer, vkey } = localSigner();
    expect(openTreeHead(await signTreeHead(head, signer), vkey)).toEqual(head);
    expect(parseVerifierKey(vkey).keyId).toEqual(signer.keyId);
    expect(vkey.split('+')[1]).toBe(signer.keyId.toString('hex'));
  });

  it('a tree head signed by the authority key in KMS opens with the verifier key made from its public key', async () => {
    const client = kms();
    const keyArn = await createSigningKey(client);
    const publicKey = await authorityPublicKey(client, keyArn);
    const note = await signTreeHead(head, kmsNoteSigner(client, keyArn, publicKey, ORIGIN));
    expect(openTreeHead(note, verifierKeyOf(ORIGIN, publicKey))).toEqual(head);
  });

  it('a forged head is refused: another key, an edited size or root, a rolled-back size, no signature, a bad signature', async () => {
    const { signer, vkey } = localSigner();
    const note = await signTreeHead(head, signer);
    const forger = localSigner();
    expect(refusal(() => openTreeHead(note, forger.vkey))).toMatch(/no signature of/);
    expect(refusal(() => openTreeHead(note.replace('\n3\n', '\n4\n'), vkey))).toMatch(/does not verify/);
    expect(refusal(() => openTreeHead(note.replace('\n3\n', '\n2\n'), vkey))).toMatch(/does not verify/);
    const otherRoot = EMPTY_ROOT.toString('base64');
    expect(refusal(() => openTreeHead(note.replace(head.rootHash.toString('base64'), otherRoot), vkey))).toMatch(/does not verify/);
    expect(refusal(() => openTreeHead(note.split('\n\n')[0] + '\n\n', vkey))).toMatch(/signature/);
    const sigLine = note.split('\n\n')[1];
    const blob = Buffer.from(sigLine.trim().split(' ')[2], 'base64');
    blob[blob.length - 1] ^= 1;
    expect(refusal(() => openTreeHead(`${note.split('\n\n')[0]}\n\n\u2014 ${ORIGIN} ${blob.toString('base64')}\n`, vkey))).toMatch(/does not verify|signature/);
    // The forger's own note, under the log's name: its key ID does not match the verifier key.
    const forged = await signTreeHead(head, forger.signer);
    expect(refusal(() => openTreeHead(forged, vkey))).toMatch(/no signature of/);
  });

  it('ignores signatures of other keys: a witness may cosign, and each key opens the note for itself', async () => {
    const { signer, vkey } = localSigner();
    const witness = localSigner('witness.example');
    const note = await signTreeHead(head, signer);
    const cosigned = note + (await signTreeHead(head, witness.signer)).split('\n\n')[1];
    expect(openTreeHead(cosigned, vkey)).toEqual(head);
    expect(openTreeHead(cosigned, witness.vkey)).toEqual(head);
  });

  it('refuses text that is not exactly a tree head, and a verifier key that does not match its ID', async () => {
    const { signer, vkey } = localSigner();
    const withExtension = { sign: signer.sign, name: signer.name, keyId: signer.keyId };
    const text = `${ORIGIN}\n3\n${head.rootHash.toString('base64')}\nextension\n`;
    const sig = await withExtension.sign(Buffer.from(text));
    const note = `${text}\n\u2014 ${ORIGIN} ${Buffer.concat([signer.keyId, sig]).toString('base64')}\n`;
    expect(refusal(() => openTreeHead(note, vkey))).toMatch(/exactly three lines/);
    const [name, , ...key] = vkey.split('+');
    expect(() => parseVerifierKey(`${name}+00000000+${key.join('+')}`)).toThrow(/does not match/);
    expect(() => parseVerifierKey('not a key')).toThrow(/verifier key/);
  });
});
