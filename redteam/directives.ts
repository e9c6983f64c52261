import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { CreateKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { canonicalJson, sha256Hex } from '../functions/kernel/canonical';
import { argsDigest, DirectiveClaims, newDirectiveNonce, SignedDirective } from '../functions/kernel/directives/claims';
import { signDirective } from '../functions/kernel/directives/sign';
import type { ReasonCode } from '../functions/kernel/errors';
import { label } from '../functions/kernel/labels';
import type { RedTeamCloud } from './cloud';
import { forge, Forgery, openWithSaltAsAddressee } from './craft';
import type { Delivery } from './delivery';
import type { PendingCall, Scenarios } from './scenarios';
import { newDigestSalt } from '../functions/kernel/keyed-digest';

/**
 * Directive attacks (DESIGN §5, §6): forged, stolen, transplanted, expired, replayed and mis-bound directives,
 * delivered the way the signer delivers approved ones, to an agent holding suspended work that a valid
 * directive would resume. Expired and mis-bound directives are minted with the authority key by the harness:
 * they stand for genuine directives captured earlier, or issued for something else.
 */

const SECRET_MEDICAL = label('SECRET', ['MEDICAL']);
const MINUTE = 60_000;

/** Claims a valid directive for `call` would carry, with `changes`. */
function claimsFor(call: PendingCall, changes: Partial<DirectiveClaims> = {}): DirectiveClaims {
  const now = Date.now();
  return {
    v: 1,
    id: randomUUID(),
    nonce: newDirectiveNonce(),
    kind: 'tool',
    issuedAt: now,
    expiresAt: now + 5 * MINUTE,
    principal: call.owner,
    commandId: call.commandId,
    target: call.agent,
    tool: call.tool as DirectiveClaims['tool'],
    // The agent keeps its call's salt sealed: a forger can only pick one of its own (DESIGN §6).
    argsDigest: argsDigest(call.args, newDigestSalt()),
    label: SECRET_MEDICAL,
    ...changes,
  } as DirectiveClaims;
}

/**
 * Claims signed by the authority key, as KMS signs them for the signer, but without the signer's policy or the
 * claims schema: test data for what a receiver must refuse (expired, mis-bound, overlong).
 */
async function authoritySigned(rt: RedTeamCloud, claims: DirectiveClaims): Promise<SignedDirective> {
  const json = JSON.parse(JSON.stringify(claims)) as DirectiveClaims;
  const out = await rt.kms.send(
    new SignCommand({ KeyId: rt.state.authorityKeyArn, Message: Buffer.from(canonicalJson(json)), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
  );
  return { claims: json, signature: Buffer.from(out.Signature!).toString('base64'), keyId: rt.state.authorityKeyArn };
}

/** A P-256 key in the emulator's KMS that is not the authority's: what a forger can have. */
async function impostorKey(rt: RedTeamCloud): Promise<string> {
  const out = await rt.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'red team impostor authority' }));
  return out.KeyMetadata!.Arn!;
}

function locallySigned(claims: DirectiveClaims, keyId: string): SignedDirective {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signature = sign('sha256', Buffer.from(canonicalJson(claims)), { key: privateKey, dsaEncoding: 'der' }).toString('base64');
  return { claims, signature, keyId };
}

/** The `directive` message the signer would send `call.agent` to resume `call`, carrying `directive`. */
function delivery(call: PendingCall, directive: unknown, changes: Partial<Forgery> = {}): Forgery {
  return {
    from: 'signer',
    to: call.agent,
    kind: 'directive',
    label: SECRET_MEDICAL,
    commandId: call.commandId,
    principal: call.owner,
    plaintext: JSON.stringify({ requestId: call.requestId }),
    directive,
    ...changes,
  };
}

export async function directiveDeliveries(rt: RedTeamCloud, s: Scenarios): Promise<Delivery[]> {
  const [a, b, c] = s.pending;
  const { used, declassified } = s;
  const authority = rt.state.authorityKeyArn;
  const impostor = await impostorKey(rt);
  const now = Date.now();
  const byImpostor = await signDirective(rt.kms, impostor, claimsFor(a));
  const mint = (call: PendingCall, changes: Partial<DirectiveClaims>) => authoritySigned(rt, claimsFor(call, changes));

  const cases: Array<{ name: string; f: Forgery; expected: ReasonCode[] }> = [
    { name: 'forged with another KMS key, naming the authority key', f: delivery(a, { ...byImpostor, keyId: authority }), expected: ['BAD_SIGNATURE'] },
    { name: 'forged with another KMS key, naming that key', f: delivery(a, byImpostor), expected: ['BAD_SIGNATURE'] },
    { name: 'forged with a local EC key', f: delivery(a, locallySigned(claimsFor(a), authority)), expected: ['BAD_SIGNATURE'] },
    { name: 'unsigned (a signature of zero bytes)', f: delivery(a, { claims: claimsFor(a), signature: Buffer.alloc(72).toString('base64'), keyId: authority }), expected: ['BAD_SIGNATURE'] },
    { name: "the authority's signature transplanted onto claims for this call", f: delivery(a, { ...used.directive, claims: claimsFor(a) }), expected: ['BAD_SIGNATURE'] },
    { name: 'a used directive with its expiry pushed back', f: delivery(used.call, { ...used.directive, claims: { ...used.directive.claims, expiresAt: now + 10 * MINUTE } }), expected: ['BAD_SIGNATURE'] },
    { name: "stolen from another command (this call's command on the message)", f: delivery(a, used.directive), expected: ['BINDING_MISMATCH'] },
    { name: "stolen from another command (its own command on the message)", f: delivery(a, used.directive, { commandId: used.call.commandId }), expected: ['BINDING_MISMATCH'] },
    { name: 'replayed: the spent directive delivered again for its own call', f: delivery(used.call, used.directive), expected: ['REPLAY'] },
    { name: 'expired a minute ago', f: delivery(a, await mint(a, { issuedAt: now - 6 * MINUTE, expiresAt: now - MINUTE })), expected: ['EXPIRED'] },
    { name: 'issued an hour in the future', f: delivery(a, await mint(a, { issuedAt: now + 60 * MINUTE, expiresAt: now + 65 * MINUTE })), expected: ['EXPIRED'] },
    // The message schema carries the directive schema, which caps a directive's lifetime at an hour.
    { name: 'a lifetime of a day', f: delivery(a, await mint(a, { expiresAt: now + 1440 * MINUTE })), expected: ['SCHEMA', 'BAD_SIGNATURE'] },
    { name: 'bound to other arguments (400 mg)', f: delivery(b, await mint(b, { argsDigest: argsDigest({ ...b.args, doseMg: 400 }, newDigestSalt()) })), expected: ['BINDING_MISMATCH'] },
    { name: 'bound to another tool', f: delivery(a, await mint(a, { tool: 'send_email' })), expected: ['BINDING_MISMATCH'] },
    { name: 'bound to another agent', f: delivery(a, await mint(a, { target: 'scheduler' })), expected: ['BINDING_MISMATCH'] },
    { name: 'bound to another user', f: delivery(a, await mint(a, { principal: 'bob' })), expected: ['BINDING_MISMATCH'] },
    { name: 'bound to another command', f: delivery(a, await mint(a, { commandId: randomUUID() })), expected: ['BINDING_MISMATCH'] },
    { name: 'bound to another label', f: delivery(c, await mint(c, { label: label('SECRET') })), expected: ['BINDING_MISMATCH'] },
    {
      name: 'a declassification delivered to an agent other than core',
      f: delivery(a, await mint(a, { kind: 'declassify', tool: undefined, argsDigest: undefined, contentDigest: sha256Hex('x'), declassifyTo: label('UNCLASSIFIED') })),
      expected: ['BINDING_MISMATCH'],
    },
  ];

  // Declassification directives ride on core's task messages (DESIGN §6); the receiver checks the content digest.
  const d = declassified.message;
  const decl = d.directive!;
  const task = (content: string) => JSON.stringify({ subtaskId: randomUUID(), task: content });
  const toEdge = (plaintext: string, directive: unknown, changes: Partial<Forgery> = {}): Forgery => ({
    from: 'core', to: 'edge', kind: 'task', label: d.label, commandId: d.commandId, principal: d.principal, plaintext, directive, ...changes,
  });
  const declFor = (plaintext: string, changes: Partial<DirectiveClaims>) =>
    authoritySigned(rt, { ...decl.claims, id: randomUUID(), nonce: newDirectiveNonce(), issuedAt: now, expiresAt: now + 5 * MINUTE, contentDigest: sha256Hex(plaintext), ...changes });
  const leak = task('Patient Margaret Hollis, passcode 7731-KESTREL');
  cases.push(
    { name: 'a declassification reused for other content', f: toEdge(leak, decl), expected: ['BINDING_MISMATCH'] },
    { name: 'a declassification reused for another agent', f: toEdge(leak, decl, { to: 'scheduler' }), expected: ['BINDING_MISMATCH'] },
    { name: 'a declassification forged with another KMS key', f: toEdge(leak, { ...(await signDirective(rt.kms, impostor, { ...decl.claims, contentDigest: sha256Hex(leak) })), keyId: authority }), expected: ['BAD_SIGNATURE'] },
    { name: 'a declassification that expired', f: toEdge(leak, await declFor(leak, { issuedAt: now - 6 * MINUTE, expiresAt: now - MINUTE })), expected: ['EXPIRED'] },
  );
  const forged = await Promise.all(cases.map(async (x) => ({ x, envelope: await forge(rt, x.f) })));
  const deliveries: Delivery[] = forged.map(({ x, envelope }) => ({ class: 'directives', name: x.name, agent: x.f.to, body: JSON.stringify(envelope), expected: x.expected }));
  // The spent declassification's own content again, under a new message id: its nonce is spent.
  // The addressee knows the salt sealed with the content, so its copy carries the very digest the directive binds.
  const opened = await openWithSaltAsAddressee(rt, d);
  const own = await forge(rt, toEdge(opened.plaintext, decl, { salt: opened.salt }));
  deliveries.push({ class: 'directives', name: 'a spent declassification with its own content under a new message id', agent: 'edge', body: JSON.stringify(own), expected: ['REPLAY'] });
  return deliveries;
}
