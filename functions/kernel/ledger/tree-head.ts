import { KeyObject, createHash, createPublicKey } from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { signatureValid } from '../directives/verify';
import { SecurityError } from '../errors';
import { HASH_BYTES } from './merkle';

/**
 * Signed tree heads in the C2SP checkpoint format (c2sp.org/tlog-checkpoint, a c2sp.org/signed-note): the origin,
 * the tree size and the base64 RFC 9162 root hash, each on a line, then a blank line and one signature line per
 * signer. AgentSec's heads are signed by the authority key (ECDSA P-256, note signature type 0x02, whose key ID is
 * the first four bytes of SHA-256 of the DER SubjectPublicKeyInfo), so any tool or witness that reads signed notes
 * can check them with the verifier key alone (DESIGN §7).
 *
 * @example
 * const note = await signTreeHead({ origin, size, rootHash }, kmsNoteSigner(kms, keyArn, publicKey, origin));
 * const head = openTreeHead(note, verifierKeyOf(origin, publicKey)); // throws TAMPERED unless signed
 */

/** What a signed tree head says: the log `origin` held `size` entries whose Merkle root is `rootHash`. */
export interface TreeHead {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
}

/** The note signature type of ECDSA (c2sp.org/signed-note). */
const ECDSA_SIGNATURE_TYPE = 0x02;
const SIGNATURE_PREFIX = '\u2014 ';
const ORIGIN = /^[^\s+]{1,255}$/;
const SIZE = /^(0|[1-9][0-9]{0,15})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The note text of a tree head: three lines, each ending in a newline. */
export function treeHeadText(head: TreeHead): string {
  if (!ORIGIN.test(head.origin)) throw new Error(`a log origin has no spaces or plus signs: "${head.origin}"`);
  if (!Number.isSafeInteger(head.size) || head.size < 0) throw new Error(`a tree size is a natural number, not ${head.size}`);
  if (head.rootHash.length !== HASH_BYTES) throw new Error('a root hash is 32 bytes');
  return `${head.origin}\n${head.size}\n${head.rootHash.toString('base64')}\n`;
}

/** Parses note text into a tree head; TAMPERED when it is not one. Extension lines are refused: nobody signs any. */
export function parseTreeHeadText(text: string): TreeHead {
  const lines = text.split('\n');
  if (lines.length !== 4 || lines[3] !== '') throw new SecurityError('TAMPERED', 'a tree head is exactly three lines');
  const [origin, size, root] = lines;
  const rootHash = BASE64.test(root) ? Buffer.from(root, 'base64') : Buffer.alloc(0);
  if (!ORIGIN.test(origin) || !SIZE.test(size) || rootHash.length !== HASH_BYTES || rootHash.toString('base64') !== root) {
    throw new SecurityError('TAMPERED', 'a tree head is an origin, a decimal size and a base64 SHA-256 root');
  }
  return { origin, size: Number(size), rootHash };
}

/** The note key ID of an ECDSA key: SHA-256 of its DER SubjectPublicKeyInfo, first four bytes. */
export function noteKeyId(publicKey: KeyObject): Buffer {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest().subarray(0, 4);
}

/** The verifier key (`<name>+<hex key ID>+<base64(0x02 || SPKI)>`) that checks heads signed by `publicKey` as `name`. */
export function verifierKeyOf(name: string, publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return `${name}+${noteKeyId(publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ECDSA_SIGNATURE_TYPE]), spki]).toString('base64')}`;
}

/** A verifier key parsed: its name, key ID and public key. Throws with a sentence when it is not an ECDSA verifier key. */
export function parseVerifierKey(vkey: string): { name: string; keyId: Buffer; publicKey: KeyObject } {
  // The base64 key may itself hold plus signs: the name and the key ID are the first two fields.
  const [name, id, ...key] = vkey.trim().split('+');
  const parts = [name, id ?? '', key.join('+')];
  if (key.length === 0 || !/^[0-9a-f]{8}$/.test(parts[1])) throw new Error('a verifier key is <name>+<8 hex digits>+<base64 key>');
  const material = Buffer.from(parts[2], 'base64');
  if (material[0] !== ECDSA_SIGNATURE_TYPE) throw new Error('the verifier key is not an ECDSA (type 0x02) key');
  const publicKey = createPublicKey({ key: material.subarray(1), format: 'der', type: 'spki' });
  const keyId = Buffer.from(parts[1], 'hex');
  if (!noteKeyId(publicKey).equals(keyId)) throw new Error('the verifier key ID does not match its public key');
  return { name: parts[0], keyId, publicKey };
}

/** Signs note text as one named key. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: Buffer;
  /** A DER ECDSA P-256 signature over SHA-256 of `message`. */
  sign(message: Buffer): Promise<Buffer>;
}

/** The authority key in KMS as a note signer (KMS Sign, ECDSA_SHA_256 over the raw text): only the signer's role may call it. */
export function kmsNoteSigner(kms: KMSClient, keyArn: string, publicKey: KeyObject, name: string): NoteSigner {
  return {
    name,
    keyId: noteKeyId(publicKey),
    async sign(message) {
      const out = await kms.send(new SignCommand({ KeyId: keyArn, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
      if (!out.Signature) throw new Error('KMS Sign returned no signature');
      return Buffer.from(out.Signature);
    },
  };
}

/** The signed note of a tree head: its text, a blank line and the signer's line. */
export async function signTreeHead(head: TreeHead, signer: NoteSigner): Promise<string> {
  const text = treeHeadText(head);
  const signature = await signer.sign(Buffer.from(text, 'utf8'));
  return `${text}\n${SIGNATURE_PREFIX}${signer.name} ${Buffer.concat([signer.keyId, signature]).toString('base64')}\n`;
}

/**
 * The tree head a signed note vouches for, checked with `vkey` only (c2sp.org/signed-note): signatures of other keys
 * are ignored (witnesses may cosign), a signature of this key that fails refuses the whole note, and a note without
 * a verified signature of this key is refused. TAMPERED, with the reason, on any refusal.
 */
export function openTreeHead(note: string, vkey: string): TreeHead {
  const { name, keyId, publicKey } = parseVerifierKey(vkey);
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new SecurityError('TAMPERED', 'a signed note is text, a blank line and signature lines');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new SecurityError('TAMPERED', 'a signature line starts with an em dash');
    const [signerName, blob, ...rest] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    const bytes = blob && BASE64.test(blob) ? Buffer.from(blob, 'base64') : Buffer.alloc(0);
    if (rest.length > 0 || bytes.length < 5) throw new SecurityError('TAMPERED', 'a signature line is a key name and base64(key ID || signature)');
    if (signerName !== name || !bytes.subarray(0, 4).equals(keyId)) continue;
    if (!signatureValid(publicKey, Buffer.from(text, 'utf8'), bytes.subarray(4))) {
      throw new SecurityError('TAMPERED', `the signature of ${name} on the tree head does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new SecurityError('TAMPERED', `the tree head carries no signature of ${name}`);
  return parseTreeHeadText(text);
}
