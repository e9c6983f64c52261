import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import { CBORType, encodeCBOR } from '@levischuck/tiny-cbor';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * A passkey without a browser (WebAuthn Level 2 §6): an ES256 key made at registration, attestation `none`, user
 * present and verified, a signature counter. What `npm start`'s demo, the red team and the tests approve with when
 * no person and no Chromium are at hand; the browser tests use Chromium's own virtual authenticator instead.
 * Each response is exactly what a browser's `navigator.credentials` would hand the console, for the same origin.
 *
 * @example
 * const key = new SoftwareAuthenticator(consoleOrigin);
 * const response = key.register((await api.post('/v1/passkeys/options')).options);
 * const assertion = key.sign(pending.passkey.options);
 */
export class SoftwareAuthenticator {
  private credential?: { id: Buffer; privateKey: KeyObject; publicKey: KeyObject; rpId: string };
  private counter = 0;

  constructor(private readonly origin: string) {}

  /** The credential id, base64url, once registered. */
  get credentialId(): string | undefined {
    return this.credential?.id.toString('base64url');
  }

  /** `navigator.credentials.create()`: a new key pair for the options' relying party. */
  register(options: PublicKeyCredentialCreationOptionsJSON): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = randomBytes(16);
    this.credential = { id, privateKey, publicKey, rpId };
    const clientDataJSON = this.clientData('webauthn.create', options.challenge);
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = encodeCBOR(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([this.authenticatorData(rpId, 0x45), Buffer.alloc(16), idLength, id, Buffer.from(cose)]);
    const attestationObject = encodeCBOR(new Map<string, CBORType>([['fmt', 'none'], ['attStmt', new Map<string, CBORType>()], ['authData', authData]]));
    return {
      id: id.toString('base64url'),
      rawId: id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * `navigator.credentials.get()`: signs the options' challenge (for a vote, the vote's digest). `origin` is what the
   * browser writes into the client data: another site's, for a page that phishes for an assertion.
   */
  sign(options: PublicKeyCredentialRequestOptionsJSON, origin = this.origin): AuthenticationResponseJSON {
    const credential = this.credential;
    if (!credential) throw new Error('the authenticator has no passkey: register first');
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [];
    if (allowed.length > 0 && !allowed.includes(credential.id.toString('base64url'))) throw new Error('none of the allowed credentials is on this authenticator');
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, origin);
    const authData = this.authenticatorData(options.rpId ?? credential.rpId, 0x05);
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]), { key: credential.privateKey, dsaEncoding: 'der' });
    return {
      id: credential.id.toString('base64url'),
      rawId: credential.id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin = this.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  /** rpIdHash, flags (UP 0x01, UV 0x04, AT 0x40), then the signature counter, which moves on every use. */
  private authenticatorData(rpId: string, flags: number): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++this.counter);
    return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), counter]);
  }
}
