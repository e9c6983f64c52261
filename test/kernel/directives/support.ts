import { randomUUID } from 'node:crypto';
import { keyedDigest, newDigestSalt } from '../../../functions/kernel/keyed-digest';
import { DirectiveClaims, SignedDirective, argsDigest, newDirectiveNonce } from '../../../functions/kernel/directives/claims';
import { signDirective } from '../../../functions/kernel/directives/sign';
import { Label, label } from '../../../functions/kernel/labels';
import { kms } from '../../support/aws';

/** The salt the tool directives of these tests key their arguments' digest with. */
export const ARGS_SALT = newDigestSalt();

/** The salt the declassifications of these tests key their content digest with: send the released plaintext under it. */
export const RELEASE_SALT = newDigestSalt();

/** Claims of a tool directive: alice's `commandId` may run schedule_appointment on the scheduler with `args`, five minutes from `issuedAt`. */
export function toolClaims(commandId: string, args: unknown, issuedAt: number, overrides: Partial<DirectiveClaims> = {}): DirectiveClaims {
  return {
    v: 1,
    id: randomUUID(),
    nonce: newDirectiveNonce(),
    kind: 'tool',
    issuedAt,
    expiresAt: issuedAt + 300_000,
    principal: 'alice',
    commandId,
    target: 'scheduler',
    tool: 'schedule_appointment',
    argsDigest: argsDigest(args, ARGS_SALT),
    label: label('CONFIDENTIAL'),
    ...overrides,
  };
}

/**
 * A declassification signed with `key`: core may send `plaintext` of alice's command from `from` down to CONFIDENTIAL, to
 * `target`, sealed with {@link RELEASE_SALT}.
 */
export function declassification(
  key: string,
  target: string,
  commandId: string,
  plaintext: string,
  from: Label,
  overrides: Partial<DirectiveClaims> = {},
): Promise<SignedDirective> {
  const now = Date.now();
  return signDirective(kms(), key, {
    v: 1,
    id: randomUUID(),
    nonce: newDirectiveNonce(),
    kind: 'declassify',
    issuedAt: now,
    expiresAt: now + 300_000,
    principal: 'alice',
    commandId,
    target,
    contentDigest: keyedDigest(RELEASE_SALT, plaintext),
    label: from,
    declassifyTo: label('CONFIDENTIAL'),
    ...overrides,
  });
}
