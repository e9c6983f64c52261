import { randomUUID } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { canonicalJson, sha256Hex } from '../../../functions/kernel/canonical';
import { DirectiveExpectation } from '../../../functions/kernel/directives/binding';
import { CLOCK_SKEW_MS, DirectiveClaims, MAX_DIRECTIVE_LIFETIME_MS, SignedDirective, argsDigest, newDirectiveNonce, signedDirectiveSchema } from '../../../functions/kernel/directives/claims';
import { signDirective } from '../../../functions/kernel/directives/sign';
import { DirectiveVerifier, authorityPublicKey, signatureValid } from '../../../functions/kernel/directives/verify';
import { label } from '../../../functions/kernel/labels';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { createSigningKey, createTable, documentClient, kms, unique } from '../../support/aws';
import { countingKms } from '../../support/kms-calls';
import { refusal } from '../../support/refusal';
import { ARGS_SALT, toolClaims as toolClaimsFor } from './support';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const ARGS = { patient: 'P-1042', slot: '2030-01-02T09:00:00Z', room: 3 };
const commandId = randomUUID();
const counter = countingKms();

let authority: string;
let impostor: string;
let verifier: DirectiveVerifier;

beforeAll(async () => {
  [authority, impostor] = await Promise.all([createSigningKey(), createSigningKey()]);
  verifier = new DirectiveVerifier({ kms: counter.client, authorityKeyArn: authority, now: () => NOW });
});

const toolClaims = (overrides: Partial<DirectiveClaims> = {}): DirectiveClaims => toolClaimsFor(commandId, ARGS, NOW - 1_000, overrides);

const CONTENT = sha256Hex('redacted summary for the scheduler');
const declassifyClaims = (overrides: Partial<DirectiveClaims> = {}): DirectiveClaims => {
  const { tool: _tool, argsDigest: _args, ...rest } = toolClaims();
  return { ...rest, kind: 'declassify', contentDigest: CONTENT, label: label('SECRET', ['MEDICAL']), declassifyTo: label('CONFIDENTIAL'), ...overrides };
};

const expectTool = (overrides: Partial<Extract<DirectiveExpectation, { kind: 'tool' }>> = {}): DirectiveExpectation => ({
  kind: 'tool',
  target: 'scheduler',
  commandId,
  tool: 'schedule_appointment',
  args: ARGS,
  argsSalt: ARGS_SALT,
  ...overrides,
});

const sign = (claims: DirectiveClaims, key = authority, client: KMSClient = kms()) => signDirective(client, key, claims);


describe('directives signed by the authority key', () => {
  it('a valid tool directive verifies and yields its claims', async () => {
    const claims = toolClaims();
    const verified = await verifier.verify(await sign(claims), expectTool());
    expect(verified).toEqual(claims);
  });

  it('a valid declassification verifies when bound to the content', async () => {
    const signed = await sign(declassifyClaims());
    const verified = await verifier.verify(signed, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: CONTENT });
    expect(verified.declassifyTo).toEqual(label('CONFIDENTIAL'));
  });

  it('binds the arguments canonically: the same arguments written in another key order still match', async () => {
    const signed = await sign(toolClaims());
    await expect(verifier.verify(signed, expectTool({ args: { room: 3, slot: ARGS.slot, patient: ARGS.patient } }))).resolves.toBeDefined();
  });

  it('survives the JSON round trip of an SQS body with its keys reordered', async () => {
    const signed = await sign(toolClaims());
    const reordered = JSON.parse(JSON.stringify({ keyId: signed.keyId, signature: signed.signature, claims: Object.fromEntries(Object.entries(signed.claims).reverse()) }));
    await expect(verifier.verify(reordered, expectTool())).resolves.toBeDefined();
  });

  describe('a directive is bound to what it authorizes (BINDING_MISMATCH)', () => {
    let signed: SignedDirective;
    beforeAll(async () => {
      signed = await sign(toolClaims());
    });

    it('refuses other arguments', async () => {
      expect(await refusal(verifier.verify(signed, expectTool({ args: { ...ARGS, room: 4 } })))).toBe('BINDING_MISMATCH');
    });

    it('refuses another target agent', async () => {
      expect(await refusal(verifier.verify(signed, expectTool({ target: 'edge' })))).toBe('BINDING_MISMATCH');
    });

    it('refuses another command', async () => {
      expect(await refusal(verifier.verify(signed, expectTool({ commandId: randomUUID() })))).toBe('BINDING_MISMATCH');
    });

    it('refuses another tool', async () => {
      expect(await refusal(verifier.verify(signed, expectTool({ tool: 'send_email' })))).toBe('BINDING_MISMATCH');
    });

    it('refuses another principal', async () => {
      expect(await refusal(verifier.verify(signed, { ...expectTool(), principal: 'bob' }))).toBe('BINDING_MISMATCH');
    });

    it('refuses a tool directive presented as a declassification', async () => {
      expect(await refusal(verifier.verify(signed, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: CONTENT }))).toBe('BINDING_MISMATCH');
    });

    it('refuses a declassification of other content', async () => {
      const declass = await sign(declassifyClaims());
      const other = sha256Hex('patient John Smith, passcode 4711');
      expect(await refusal(verifier.verify(declass, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: other }))).toBe('BINDING_MISMATCH');
    });
  });

  describe('a directive is short-lived (EXPIRED)', () => {
    const at = (now: number) => new DirectiveVerifier({ kms: counter.client, authorityKeyArn: authority, now: () => now });

    it('refuses it at the instant it expires and after', async () => {
      const claims = toolClaims();
      const signed = await sign(claims);
      expect(await refusal(at(claims.expiresAt).verify(signed, expectTool()))).toBe('EXPIRED');
      expect(await refusal(at(claims.expiresAt + 60_000).verify(signed, expectTool()))).toBe('EXPIRED');
      await expect(at(claims.expiresAt - 1).verify(signed, expectTool())).resolves.toBeDefined();
    });

    it('refuses one issued in the future beyond the clock skew, accepts one within it', async () => {
      const early = await sign(toolClaims({ issuedAt: NOW + 31_000, expiresAt: NOW + 300_000 }));
      expect(await refusal(verifier.verify(early, expectTool()))).toBe('EXPIRED');
      const skewed = await sign(toolClaims({ issuedAt: NOW + 29_000, expiresAt: NOW + 300_000 }));
      await expect(verifier.verify(skewed, expectTool())).resolves.toBeDefined();
    });
  });

  describe('only the authority signs (BAD_SIGNATURE)', () => {
    it('refuses a directive signed by another KMS key that claims to be the authority', async () => {
      const forged = { ...(await sign(toolClaims(), impostor)), keyId: authority };
      expect(await refusal(verifier.verify(forged, expectTool()))).toBe('BAD_SIGNATURE');
    });

    it('refuses a directive that names another key', async () => {
      expect(await refusal(verifier.verify(await sign(toolClaims(), impostor), expectTool()))).toBe('BAD_SIGNATURE');
    });

    // Each edit keeps the claims well-formed, so it is the signature, not the schema, that refuses them.
    const edits: { [K in keyof DirectiveClaims]-?: (c: DirectiveClaims) => unknown } = {
      v: () => 2,
      id: () => randomUUID(),
      nonce: () => newDirectiveNonce(),
      kind: () => 'declassify',
      issuedAt: (c) => c.issuedAt - 1,
      expiresAt: (c) => c.expiresAt + 1,
      principal: () => 'mallory',
      commandId: () => randomUUID(),
      target: () => 'edge',
      tool: () => 'send_email',
      argsDigest: () => argsDigest({ ...ARGS, room: 4 }, ARGS_SALT),
      contentDigest: () => CONTENT,
      declassifyTo: () => label('UNCLASSIFIED'),
      label: () => label('TOP_SECRET'),
    };
    const wellFormedEdits = ['id', 'nonce', 'issuedAt', 'expiresAt', 'principal', 'commandId', 'target', 'tool', 'argsDigest', 'label'];

    it.each(Object.keys(edits) as (keyof DirectiveClaims)[])('refuses the directive with its %s edited', async (field) => {
      const signed = await sign(toolClaims());
      const edited = { ...signed, claims: { ...signed.claims, [field]: edits[field](signed.claims) } };
      if (wellFormedEdits.includes(field)) expect(signedDirectiveSchema.safeParse(edited).success).toBe(true);
      expect(await refusal(verifier.verify(edited, expectTool()))).toBe('BAD_SIGNATURE');
    });

    it('refuses a directive with a field removed', async () => {
      const { claims, ...rest } = await sign(toolClaims({ label: label('CONFIDENTIAL') }));
      const { tool: _dropped, ...fewer } = claims;
      expect(await refusal(verifier.verify({ ...rest, claims: fewer }, expectTool()))).toBe('BAD_SIGNATURE');
    });

    it('refuses malformed signatures and malformed directives', async () => {
      const signed = await sign(toolClaims());
      const sig = Buffer.from(signed.signature, 'base64');
      const flipped = Buffer.from(sig);
      flipped[sig.length - 1] ^= 1;
      for (const bad of [
        { ...signed, signature: flipped.toString('base64') },
        { ...signed, signature: sig.subarray(0, 20).toString('base64') },
        { ...signed, signature: Buffer.alloc(64).toString('base64') },
        { ...signed, signature: '' },
        { ...signed, extra: true },
        { claims: signed.claims, signature: signed.signature },
        null,
        'directive',
        [],
      ]) {
        expect(await refusal(verifier.verify(bad, expectTool()))).toBe('BAD_SIGNATURE');
      }
    });
  });

  it('verifies locally: the public key is fetched once for many verifications, and nothing else asks KMS', async () => {
    const fresh = await createSigningKey();
    const directives = await Promise.all(Array.from({ length: 5 }, () => sign(toolClaims(), fresh)));
    const c = countingKms();
    const verifiers = [1, 2].map(() => new DirectiveVerifier({ kms: c.client, authorityKeyArn: fresh, now: () => NOW }));
    await Promise.all(verifiers.flatMap((v) => directives.map((d) => v.verify(d, expectTool()))));
    await Promise.all(verifiers.flatMap((v) => directives.map((d) => v.verify(d, expectTool()))));
    expect(c.calls).toEqual(['GetPublicKey']);
  });

  it('does not cache a failed public-key fetch', async () => {
    const fresh = await createSigningKey();
    const signed = await sign(toolClaims(), fresh);
    const c = countingKms();
    let fail = true;
    c.client.middlewareStack.add(
      (next) => async (args) => {
        if (fail) {
          fail = false;
          throw Object.assign(new Error('throttled (injected)'), { name: 'ThrottlingException' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failOnce' },
    );
    const v = new DirectiveVerifier({ kms: c.client, authorityKeyArn: fresh, now: () => NOW });
    await expect(v.verify(signed, expectTool())).rejects.toThrow(/throttled/);
    await expect(v.verify(signed, expectTool())).resolves.toBeDefined();
    expect(c.calls).toEqual(['GetPublicKey', 'GetPublicKey']);
  });

  it('a directive is single-use: its nonce cannot be consumed twice (REPLAY)', async () => {
    const table = await createTable(unique('nonces'), TABLES.nonces.partitionKey);
    const store = new SingleUseStore(documentClient(), table, 'analyst');
    const claims = await verifier.verify(await sign(toolClaims()), expectTool());
    await store.consume(`directive#${claims.nonce}`, claims.expiresAt);
    expect(await refusal(store.consume(`directive#${claims.nonce}`, claims.expiresAt))).toBe('REPLAY');
  });

  describe('the signer signs only well-formed claims (SCHEMA, before any KMS call)', () => {
    it.each<[string, Partial<DirectiveClaims>]>([
      ['a tool directive without its arguments digest', { argsDigest: undefined }],
      ['a tool directive without its tool', { tool: undefined }],
      ['expiry before issue', { expiresAt: NOW - 2_000 }],
      ['a lifetime over one hour', { expiresAt: NOW + 3_700_000 }],
      ['an unknown target name', { target: 'Not An Agent' }],
      ['a non-canonical label', { label: { level: 'SECRET', compartments: ['MEDICAL', 'FINANCE'] } }],
      ['a short nonce', { nonce: 'abc' }],
    ])('refuses %s', async (_what, overrides) => {
      const c = countingKms();
      expect(await refusal(signDirective(c.client, authority, toolClaims(overrides)))).toBe('SCHEMA');
      expect(c.calls).toEqual([]);
    });

    it('refuses a declassification that does not lower the label', async () => {
      expect(await refusal(sign(declassifyClaims({ declassifyTo: label('SECRET', ['MEDICAL']) })))).toBe('SCHEMA');
      expect(await refusal(sign(declassifyClaims({ declassifyTo: label('TOP_SECRET') })))).toBe('SCHEMA');
    });

    it('signs with KMS Sign exactly once', async () => {
      const c = countingKms();
      await sign(toolClaims(), authority, c.client);
      expect(c.calls).toEqual(['Sign']);
    });
  });
});

/** Directive properties at their edges: lifetimes, the two kinds kept apart, the clock-skew limit, the key. */
describe('directives at their limits', () => {
  const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
  const ARGS = { patientId: 'P-1002', when: '2030-01-02T09:00:00Z' };
  const CONTENT = sha256Hex('redacted summary');
  const commandId = randomUUID();

  let authority: string;
  let impostor: string;
  beforeAll(async () => {
    [authority, impostor] = await Promise.all([createSigningKey(), createSigningKey()]);
  });

  const toolClaims = (o: Partial<DirectiveClaims> = {}): DirectiveClaims => toolClaimsFor(commandId, ARGS, NOW, o);

  const declassifyClaims = (o: Partial<DirectiveClaims> = {}): DirectiveClaims => {
    const { tool: _tool, argsDigest: _args, ...rest } = toolClaims();
    return { ...rest, kind: 'declassify', contentDigest: CONTENT, label: label('SECRET'), declassifyTo: label('CONFIDENTIAL'), ...o };
  };

  const verifierAt = (now: number, key = authority) => new DirectiveVerifier({ kms: kms(), authorityKeyArn: key, now: () => now });

  describe('the signer signs only directives that are short-lived and of one kind (SCHEMA)', () => {
    it('refuses a directive that expires the instant it is issued', async () => {
      expect(await refusal(signDirective(kms(), authority, toolClaims({ expiresAt: NOW })))).toBe('SCHEMA');
    });

    it('signs a directive that lives exactly the longest lifetime', async () => {
      await signDirective(kms(), authority, toolClaims({ expiresAt: NOW + MAX_DIRECTIVE_LIFETIME_MS }));
      expect(await refusal(signDirective(kms(), authority, toolClaims({ expiresAt: NOW + MAX_DIRECTIVE_LIFETIME_MS + 1 })))).toBe('SCHEMA');
    });

    it('refuses a nonce with anything but base64url around its 128 bits', async () => {
      const nonce = newDirectiveNonce();
      for (const bad of [`${nonce}=`, `.${nonce}`, `${nonce} `]) {
        expect(await refusal(signDirective(kms(), authority, toolClaims({ nonce: bad })))).toBe('SCHEMA');
      }
    });

    it('refuses a tool directive that also carries a declassification', async () => {
      expect(await refusal(signDirective(kms(), authority, toolClaims({ contentDigest: CONTENT })))).toBe('SCHEMA');
      expect(await refusal(signDirective(kms(), authority, toolClaims({ declassifyTo: label('UNCLASSIFIED') })))).toBe('SCHEMA');
    });

    it('refuses a declassification that does not bind its content', async () => {
      expect(await refusal(signDirective(kms(), authority, declassifyClaims({ contentDigest: undefined })))).toBe('SCHEMA');
    });

    it('refuses a declassification that also names a tool or arguments', async () => {
      expect(await refusal(signDirective(kms(), authority, declassifyClaims({ tool: 'schedule_appointment' })))).toBe('SCHEMA');
      expect(await refusal(signDirective(kms(), authority, declassifyClaims({ argsDigest: argsDigest(ARGS, ARGS_SALT) })))).toBe('SCHEMA');
    });
  });

  describe('what the signer asks KMS to sign', () => {
    it('the raw canonical bytes of the claims with ECDSA_SHA_256 (the emulator accepts a blank MessageType; KMS does not)', async () => {
      const client = kms();
      const sent: Record<string, unknown>[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if ((context as { commandName?: string }).commandName === 'SignCommand') sent.push(args.input as Record<string, unknown>);
          return next(args);
        },
        { step: 'initialize', name: 'recordSign' },
      );
      const claims = toolClaims();
      await signDirective(client, authority, claims);
      expect(sent).toEqual([{ KeyId: authority, Message: Buffer.from(canonicalJson(claims), 'utf8'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }]);
    });
  });

  describe('the verifier', () => {
    it('a declassification never passes as a tool directive, even when the caller names no tool or arguments', async () => {
      const signed = await signDirective(kms(), authority, declassifyClaims({ target: 'scheduler' }));
      expect(await refusal(verifierAt(NOW).verify(signed, { kind: 'tool', target: 'scheduler', commandId }))).toBe('BINDING_MISMATCH');
    });

    it('accepts a directive issued exactly at the clock-skew limit, and refuses one a millisecond later', async () => {
      const signed = await signDirective(kms(), authority, toolClaims());
      const expected = { kind: 'tool' as const, target: 'scheduler', commandId, tool: 'schedule_appointment', args: ARGS, argsSalt: ARGS_SALT };
      await verifierAt(NOW - CLOCK_SKEW_MS).verify(signed, expected);
      expect(await refusal(verifierAt(NOW - CLOCK_SKEW_MS - 1).verify(signed, expected))).toBe('EXPIRED');
    });

    it('refuses a directive whose keyId names another key, even when the authority signed it (BAD_SIGNATURE)', async () => {
      const signed = await signDirective(kms(), authority, toolClaims());
      const expected = { kind: 'tool' as const, target: 'scheduler', commandId };
      await verifierAt(NOW).verify(signed, expected);
      expect(await refusal(verifierAt(NOW).verify({ ...signed, keyId: impostor }, expected))).toBe('BAD_SIGNATURE');
    });

    it('trusts no authority key that is not ECC_NIST_P256', async () => {
      const out = await kms().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY', Description: 'wrong curve' }));
      const p384 = out.KeyMetadata!.Arn!;
      const signed = { ...(await signDirective(kms(), authority, toolClaims())), keyId: p384 };
      await expect(verifierAt(NOW, p384).verify(signed, { kind: 'tool', target: 'scheduler', commandId })).rejects.toThrow(/ECC_NIST_P256/);
    });

    it('refuses (BAD_SIGNATURE) claims that are not plain JSON, whose signed bytes would not be what was received', async () => {
      class Claims {}
      const signed = await signDirective(kms(), authority, toolClaims());
      const disguised = { ...signed, claims: Object.assign(new Claims(), signed.claims) };
      expect(await refusal(verifierAt(NOW).verify(disguised, { kind: 'tool', target: 'scheduler', commandId }))).toBe('BAD_SIGNATURE');
    });
  });

  describe('a signature check answers yes or no, and never throws', () => {
    it('is false for a message or signature that is not bytes at all', async () => {
      const key = await authorityPublicKey(kms(), authority);
      expect(signatureValid(key, undefined as unknown as Buffer, Buffer.from('c2lnbmF0dXJl', 'base64'))).toBe(false);
      expect(signatureValid(key, Buffer.from('message'), 'not bytes' as unknown as Buffer)).toBe(false);
    });
  });
});
