import { KeyObject, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import * as z from 'zod';
import { canonicalJson, digestOf } from '../canonical';
import { SecurityError } from '../errors';
import { dominates, sameLabel } from '../labels';
import { agentNameSchema, describeIssues, labelSchema, principalSchema, sha256HexSchema, uuidSchema } from '../schemas';
import { topologySchema } from '../topology/topology';

/**
 * Directives (DESIGN §5): the only way a high-priority action or a declassification runs. The signer signs
 * canonical claims with the authority key through KMS; everyone else verifies locally with its public key.
 */

/** Clock skew tolerated on `issuedAt` (a directive "from the future" is refused beyond this). */
export const CLOCK_SKEW_MS = 30_000;

/** The longest lifetime a directive may claim: the topology's maximum `directiveTtlSeconds`. */
export const MAX_DIRECTIVE_LIFETIME_MS = 3600_000;

const nonceSchema = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/, 'must be at least 128 bits of base64url');

export const directiveClaimsSchema = z
  .object({
    v: z.literal(1),
    id: uuidSchema,
    nonce: nonceSchema,
    kind: z.enum(['tool', 'declassify']),
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().positive(),
    principal: principalSchema,
    commandId: uuidSchema,
    target: agentNameSchema,
    tool: topologySchema.shape.tools.keyType.optional(),
    argsDigest: sha256HexSchema.optional(),
    contentDigest: sha256HexSchema.optional(),
    declassifyTo: labelSchema.optional(),
    label: labelSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.expiresAt <= c.issuedAt) issue('expiresAt', 'must be after issuedAt');
    if (c.expiresAt - c.issuedAt > MAX_DIRECTIVE_LIFETIME_MS) issue('expiresAt', 'lifetime exceeds one hour');
    if (c.kind === 'tool') {
      if (c.tool === undefined) issue('tool', 'a tool directive names its tool');
      if (c.argsDigest === undefined) issue('argsDigest', 'a tool directive binds its arguments');
      if (c.contentDigest !== undefined || c.declassifyTo !== undefined) issue('kind', 'a tool directive does not declassify');
    } else {
      if (c.contentDigest === undefined) issue('contentDigest', 'a declassification binds the content');
      if (c.declassifyTo === undefined) issue('declassifyTo', 'a declassification names the lowered label');
      else if (!dominates(c.label, c.declassifyTo) || sameLabel(c.label, c.declassifyTo)) {
        issue('declassifyTo', 'must be strictly below label');
      }
      if (c.tool !== undefined || c.argsDigest !== undefined) issue('kind', 'a declassification runs no tool');
    }
  });

export type DirectiveClaims = z.output<typeof directiveClaimsSchema>;

export const signedDirectiveSchema = z
  .object({
    claims: directiveClaimsSchema,
    /** DER-encoded ECDSA P-256 signature over the canonical JSON of `claims`, base64. */
    signature: z.base64().min(8).max(200),
    keyId: z.string().min(1).max(2048),
  })
  .strict();

export type SignedDirective = z.output<typeof signedDirectiveSchema>;

/** SHA-256 of the canonical JSON of a tool's arguments: what a tool directive binds. */
export function argsDigest(args: unknown): string {
  return digestOf(args);
}

/** A fresh single-use nonce (128 bits). */
export function newDirectiveNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Signs claims with the authority key (KMS Sign, ECDSA_SHA_256 over the canonical JSON). Only the signer
 * function calls this; IAM and the key policy let nobody else use the key for signing (DESIGN §3).
 */
export async function signDirective(kms: KMSClient, authorityKeyArn: string, claims: DirectiveClaims): Promise<SignedDirective> {
  const parsed = directiveClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new SecurityError('SCHEMA', `directive claims: ${describeIssues(parsed.error)}`);
  const out = await kms.send(
    new SignCommand({
      KeyId: authorityKeyArn,
      Message: Buffer.from(canonicalJson(parsed.data), 'utf8'),
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    }),
  );
  if (!out.Signature) throw new Error('KMS Sign returned no signature');
  return { claims: parsed.data, signature: Buffer.from(out.Signature).toString('base64'), keyId: authorityKeyArn };
}

/** What the verifier requires a directive to be bound to. */
export type DirectiveExpectation = {
  readonly target: string;
  readonly commandId: string;
  /** When given, the principal the directive must serve. */
  readonly principal?: string;
} & (
  | {
      readonly kind: 'tool';
      /** When given, the tool the directive must name. */
      readonly tool?: string;
      /** When given, the arguments whose digest the directive must bind. */
      readonly args?: unknown;
    }
  | { readonly kind: 'declassify'; readonly contentDigest: string }
);

/**
 * Refuses with BINDING_MISMATCH unless the directive is for exactly this target, command, tool, arguments
 * and content (DESIGN §5). The tool runtime calls it again with the tool and arguments it is about to run.
 */
export function assertDirectiveBinding(claims: DirectiveClaims, expected: DirectiveExpectation): void {
  const mismatch = (field: string) => {
    throw new SecurityError('BINDING_MISMATCH', `directive ${claims.id} is not bound to this ${field}`);
  };
  if (claims.kind !== expected.kind) mismatch('kind of action');
  if (claims.target !== expected.target) mismatch('target');
  if (claims.commandId !== expected.commandId) mismatch('command');
  if (expected.principal !== undefined && claims.principal !== expected.principal) mismatch('principal');
  if (expected.kind === 'tool') {
    if (expected.tool !== undefined && claims.tool !== expected.tool) mismatch('tool');
    if (expected.args !== undefined && claims.argsDigest !== argsDigest(expected.args)) mismatch('arguments');
  } else if (claims.contentDigest !== expected.contentDigest) {
    mismatch('content');
  }
}

/** Public keys by key ARN: fetched once per process, so verification never costs a KMS call. */
const publicKeys = new Map<string, Promise<KeyObject>>();

/** The authority key's public key (ECC_NIST_P256), fetched once per process: directives and ledger checkpoints verify with it. */
export function authorityPublicKey(kms: KMSClient, keyArn: string): Promise<KeyObject> {
  let key = publicKeys.get(keyArn);
  if (!key) {
    key = fetchPublicKey(kms, keyArn);
    publicKeys.set(keyArn, key);
    // A failed fetch (throttling, network) must not poison the cache for the life of the process.
    key.catch(() => {
      if (publicKeys.get(keyArn) === key) publicKeys.delete(keyArn);
    });
  }
  return key;
}

async function fetchPublicKey(kms: KMSClient, keyArn: string): Promise<KeyObject> {
  const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  if (!out.PublicKey) throw new Error(`KMS returned no public key for ${keyArn}`);
  const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
  // Fail closed: the authority key is ECC_NIST_P256 (DESIGN §3); anything else is a misconfiguration.
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`authority key ${keyArn} is not an ECC_NIST_P256 key`);
  }
  return key;
}

/** True when `signature` (DER ECDSA) over `message` verifies under `key`; malformed signatures are simply invalid. */
export function signatureValid(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  try {
    return verifySignature('sha256', message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    // Malformed DER: not a signature at all.
    return false;
  }
}

export interface DirectiveVerifierProps {
  readonly kms: KMSClient;
  /** The one authority key whose signatures count. */
  readonly authorityKeyArn: string;
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * Verifies signed directives locally with the authority's public key.
 *
 * @example
 * const verifier = new DirectiveVerifier({ kms, authorityKeyArn });
 * const claims = await verifier.verify(signed, { kind: 'tool', target: 'scheduler', commandId, tool, args });
 */
export class DirectiveVerifier {
  private readonly kms: KMSClient;
  private readonly authorityKeyArn: string;
  private readonly now: () => number;

  constructor(props: DirectiveVerifierProps) {
    this.kms = props.kms;
    this.authorityKeyArn = props.authorityKeyArn;
    this.now = props.now ?? Date.now;
  }

  /**
   * The directive's claims when it is signed by the authority key (BAD_SIGNATURE), current (EXPIRED) and
   * bound to `expected` (BINDING_MISMATCH). Single use is the caller's to enforce with the nonce.
   */
  async verify(signed: unknown, expected: DirectiveExpectation): Promise<DirectiveClaims> {
    const claims = await this.authentic(signed);
    const now = this.now();
    if (now >= claims.expiresAt) throw new SecurityError('EXPIRED', `directive ${claims.id} expired`);
    if (claims.issuedAt > now + CLOCK_SKEW_MS) throw new SecurityError('EXPIRED', `directive ${claims.id} is issued in the future`);
    assertDirectiveBinding(claims, expected);
    return claims;
  }

  /** Claims whose signature verifies under the authority key; any malformation is BAD_SIGNATURE. */
  private async authentic(signed: unknown): Promise<DirectiveClaims> {
    const parsed = signedDirectiveSchema.safeParse(signed);
    if (!parsed.success) throw new SecurityError('BAD_SIGNATURE', `malformed directive: ${describeIssues(parsed.error)}`);
    const { claims, signature, keyId } = parsed.data;
    // The message never chooses the key that vouches for it.
    if (keyId !== this.authorityKeyArn) throw new SecurityError('BAD_SIGNATURE', `directive ${claims.id} names another key`);
    const key = await authorityPublicKey(this.kms, this.authorityKeyArn);
    // Verify what was received, byte for byte after canonicalization, not a re-serialization of parsed values.
    let message: Buffer;
    try {
      message = Buffer.from(canonicalJson((signed as { claims: unknown }).claims), 'utf8');
    } catch {
      throw new SecurityError('BAD_SIGNATURE', `directive ${claims.id} claims are not canonical JSON`);
    }
    if (!signatureValid(key, message, Buffer.from(signature, 'base64'))) throw new SecurityError('BAD_SIGNATURE', `directive ${claims.id} is not signed by the authority`);
    return claims;
  }
}
