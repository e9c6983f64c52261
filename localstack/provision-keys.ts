import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  KeyMetadata,
  KMSClient,
  ListResourceTagsCommand,
  NotFoundException,
} from '@aws-sdk/client-kms';
import { Level, LEVELS } from '../functions/kernel/labels';

/**
 * The KMS keys of the local cloud (DESIGN §3): one symmetric key per level, tagged `agentsec:level`, and the
 * authority key (ECC_NIST_P256, SIGN_VERIFY) tagged `agentsec:purpose=authority`. Each is found again by its
 * alias, so provisioning twice reuses the keys; an alias that names a key of the wrong kind is an error,
 * never silently used.
 */

export const levelKeyAlias = (prefix: string, level: Level) => `alias/${prefix}-${level}`;
export const authorityKeyAlias = (prefix: string) => `alias/${prefix}-authority`;

interface KeySpec {
  readonly alias: string;
  readonly description: string;
  readonly keySpec: 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256';
  readonly keyUsage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY';
  readonly tag: { readonly key: string; readonly value: string };
}

/** The level keys by level, created or found by alias. */
export async function ensureLevelKeys(kms: KMSClient, prefix: string): Promise<Record<Level, string>> {
  const arns = await Promise.all(
    LEVELS.map((level) =>
      ensureKey(kms, {
        alias: levelKeyAlias(prefix, level),
        description: `AgentSec ${level} messages and records`,
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        tag: { key: 'agentsec:level', value: level },
      }),
    ),
  );
  return Object.fromEntries(LEVELS.map((level, i) => [level, arns[i]])) as Record<Level, string>;
}

/** The authority key that signs directives and ledger checkpoints (DESIGN §5). */
export function ensureAuthorityKey(kms: KMSClient, prefix: string): Promise<string> {
  return ensureKey(kms, {
    alias: authorityKeyAlias(prefix),
    description: 'AgentSec authority: signs directives and ledger checkpoints',
    keySpec: 'ECC_NIST_P256',
    keyUsage: 'SIGN_VERIFY',
    tag: { key: 'agentsec:purpose', value: 'authority' },
  });
}

async function ensureKey(kms: KMSClient, spec: KeySpec): Promise<string> {
  const existing = await describeAlias(kms, spec.alias);
  if (existing) {
    await assertKeyMatches(kms, existing, spec);
    return existing.Arn!;
  }
  const created = await kms.send(
    new CreateKeyCommand({
      Description: spec.description,
      KeySpec: spec.keySpec,
      KeyUsage: spec.keyUsage,
      Tags: [{ TagKey: spec.tag.key, TagValue: spec.tag.value }],
    }),
  );
  const key = created.KeyMetadata!;
  if (spec.keySpec === 'SYMMETRIC_DEFAULT') await kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
  await kms.send(new CreateAliasCommand({ AliasName: spec.alias, TargetKeyId: key.KeyId }));
  return key.Arn!;
}

async function describeAlias(kms: KMSClient, alias: string): Promise<KeyMetadata | undefined> {
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata;
  } catch (err) {
    if (err instanceof NotFoundException) return undefined;
    throw err;
  }
}

async function assertKeyMatches(kms: KMSClient, key: KeyMetadata, spec: KeySpec): Promise<void> {
  const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }))).Tags ?? [];
  const tagged = tags.some((t) => t.TagKey === spec.tag.key && t.TagValue === spec.tag.value);
  const usage = key.KeyUsage ?? 'ENCRYPT_DECRYPT';
  if (key.KeyState !== 'Enabled' || key.KeySpec !== spec.keySpec || usage !== spec.keyUsage || !tagged) {
    throw new Error(
      `${spec.alias} names ${key.Arn} (${key.KeyState}, ${key.KeySpec}, ${usage}), not an enabled ${spec.keySpec} ` +
        `${spec.keyUsage} key tagged ${spec.tag.key}=${spec.tag.value}`,
    );
  }
}
