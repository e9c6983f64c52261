import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEVELS, Level } from '../functions/kernel/labels';
import { Actor } from './actor';
import { RECORD_SEALER, compartmentContextKey } from '../functions/kernel/messages/envelope-cipher';
import { KeyAdministrators, administrationOnlyKeyPolicy, denyKeyUse, grantKeyUse, sidOf } from './key-policy';
import { TAG } from './tags';

export interface KeyringProps {
  /** Who administers the keys. @default the account (see {@link KeyAdministrators}) */
  readonly administrators?: KeyAdministrators;
  /** Days KMS waits before deleting a key scheduled for deletion. @default 30 */
  readonly pendingWindowDays?: number;
  /** What happens to the keys when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * One symmetric KMS key per level (DESIGN §3), rotated yearly, aliased `alias/agentsec/<level>` and tagged
 * `agentsec:level`. Who may open or seal at which level is granted only through {@link grantRead} and
 * {@link grantWrite}, which write the identity policy and the key policy together.
 */
export class Keyring extends Construct {
  /** The key of each level. */
  readonly keys: Readonly<Record<Level, kms.Key>>;

  constructor(scope: Construct, id: string, props: KeyringProps = {}) {
    super(scope, id);
    const keys = {} as Record<Level, kms.Key>;
    for (const level of LEVELS) {
      const key = new kms.Key(this, level, {
        description: `AgentSec ${level} messages and stored content`,
        alias: `alias/agentsec/${level.toLowerCase()}`,
        enableKeyRotation: true,
        keySpec: kms.KeySpec.SYMMETRIC_DEFAULT,
        keyUsage: kms.KeyUsage.ENCRYPT_DECRYPT,
        policy: administrationOnlyKeyPolicy(props.administrators),
        pendingWindow: Duration.days(props.pendingWindowDays ?? 30),
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      Tags.of(key).add(TAG.level, level);
      keys[level] = key;
    }
    this.keys = keys;
  }

  /** `{"UNCLASSIFIED": "arn:...", ...}` for `AGENTSEC_KEY_ARNS`. */
  keyArns(): Record<Level, string> {
    return Object.fromEntries(LEVELS.map((l) => [l, this.keys[l].keyArn])) as Record<Level, string>;
  }

  /**
   * Lets `reader` open envelopes addressed to it (`kms:EncryptionContext:to` = its name) at `levels` — the
   * levels its clearance dominates (no read up, DESIGN §2) — and only envelopes whose label is of the key's
   * level, so a ciphertext relabelled across levels never opens.
   */
  grantRead(reader: Actor, levels: readonly Level[]): void {
    for (const level of levels) {
      grantKeyUse(this.keys[level], reader, {
        sid: sidOf('OpenAddressedTo', reader.actorName),
        actions: ['kms:Decrypt'],
        conditions: {
          StringEquals: { 'kms:EncryptionContext:to': reader.actorName },
          StringLike: { 'kms:EncryptionContext:label': labelsOfLevel(level) },
        },
      });
    }
  }

  /**
   * Compartments by KMS (DESIGN §3): `reader` may not decrypt, at any level, an envelope whose context carries one
   * of `compartments` (each travels as a key of its own), whatever else it is granted. An explicit deny in its
   * identity policy and in every level key's policy, so a SECRET agent without MEDICAL cannot open SECRET/MEDICAL
   * even addressed to itself at its own level.
   */
  denyCompartments(reader: Actor, compartments: readonly string[]): void {
    for (const compartment of compartments) {
      for (const level of LEVELS) {
        denyKeyUse(this.keys[level], reader, {
          sid: sidOf(`DenyCompartment${compartment.replace(/_/g, '')}To`, reader.actorName),
          actions: ['kms:Decrypt'],
          conditions: { Null: { [`kms:EncryptionContext:${compartmentContextKey(compartment)}`]: 'false' } },
        });
      }
    }
  }

  /**
   * Lets `writer` create data keys for envelopes it sends (`kms:EncryptionContext:from` = its name, so no one
   * can seal in another's name) at `levels` — at or above its own level (no write down, DESIGN §2), every
   * level only for the declassifier.
   */
  grantWrite(writer: Actor, levels: readonly Level[]): void {
    for (const level of levels) {
      grantKeyUse(this.keys[level], writer, {
        sid: sidOf('SealFrom', writer.actorName),
        actions: ['kms:GenerateDataKey'],
        conditions: {
          StringEquals: { 'kms:EncryptionContext:from': writer.actorName },
          StringLike: { 'kms:EncryptionContext:label': labelsOfLevel(level) },
        },
      });
    }
  }

  /**
   * Lets `seeder` seal classified records at `levels` (DESIGN §3: data at rest): data keys only as the record sealer
   * (`from` = RECORD_SEALER, which no agent's name can be) for a record (`purpose` = `record`) labelled at the key's
   * level. It opens nothing; each record's addressee opens it through {@link grantRead}.
   */
  grantRecordSealing(seeder: Actor, levels: readonly Level[]): void {
    for (const level of levels) {
      grantKeyUse(this.keys[level], seeder, {
        sid: 'SealRecordsAsRecordSeeder',
        actions: ['kms:GenerateDataKey'],
        conditions: {
          StringEquals: { 'kms:EncryptionContext:from': RECORD_SEALER, 'kms:EncryptionContext:purpose': 'record' },
          StringLike: { 'kms:EncryptionContext:label': labelsOfLevel(level) },
        },
      });
    }
  }
}

/** Labels of one level as `formatLabel` writes them: `SECRET` or `SECRET/<compartments>`. */
function labelsOfLevel(level: Level): string[] {
  return [level, `${level}/*`];
}
