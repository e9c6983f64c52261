import { randomUUID } from 'node:crypto';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { canonicalJson, sha256Hex } from '../../../functions/kernel/canonical';
import {
  CLOCK_SKEW_MS,
  DirectiveClaims,
  DirectiveVerifier,
  MAX_DIRECTIVE_LIFETIME_MS,
  argsDigest,
  newDirectiveNonce,
  authorityPublicKey,
  signDirective,
  signatureValid,
} from '../../../functions/kernel/directives/directives';
import { label } from '../../../functions/kernel/labels';
import { createSigningKey, kms } from '../../support/aws';
import { refusal } from '../../support/refusal';
import { toolClaims as toolClaimsFor } from './support';

/** Directive properties at their edges: lifetimes, the two kinds kept apart, the clock-skew limit, the key. */

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
    expect(await refusal(signDirective(kms(), authority, declassifyClaims({ argsDigest: argsDigest(ARGS) })))).toBe('SCHEMA');
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
    const expected = { kind: 'tool' as const, target: 'scheduler', commandId, tool: 'schedule_appointment', args: ARGS };
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
