import { LEVELS, Level } from '../../../functions/kernel/labels';
import { ADMINISTRATOR, KEY_NAMES, KMS_ACTIONS, KeyName, KmsAction } from './expected-access';
import { Caller, PolicyEvaluator } from '../../../redteam/iam/policy-evaluator';
import { ACCOUNT } from '../../../redteam/iam/template-arns';

/** One cell of the access matrix. */
export interface Cell {
  readonly principal: string;
  readonly key: KeyName;
  readonly action: KmsAction;
  readonly allowed: boolean;
}

/** Someone else: the other end of an envelope in the contexts below. */
const PEER = 'peer';

/**
 * The encryption context a principal presents when it uses a level key legitimately (DESIGN §3): it seals
 * as itself (`from`), opens what is addressed to itself (`to`), under a label of the key's level.
 */
export function honestContext(principal: string, key: KeyName, action: KmsAction): Record<string, string> {
  if (!(LEVELS as readonly string[]).includes(key)) return {};
  return {
    'kms:EncryptionContext:from': action === 'kms:GenerateDataKey' ? principal : PEER,
    'kms:EncryptionContext:to': action === 'kms:Decrypt' ? principal : PEER,
    'kms:EncryptionContext:label': key as Level,
  };
}

/** An account administrator from outside the stack: `kms:*` on every key in its identity policy. */
export const administratorCaller: Caller = {
  roleArn: `arn:aws:iam::${ACCOUNT}:role/Administrator`,
  identityPolicies: [
    { name: 'KmsAdministrator', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } },
  ],
};

/** Evaluates every principal × key × action with honest contexts; `layer` judges one policy layer alone. */
export async function evaluateMatrix(
  evaluator: PolicyEvaluator,
  roles: ReadonlyMap<string, string>,
  keys: ReadonlyMap<KeyName, string>,
  options: { layer?: 'identity' | 'resource'; withAdministrator?: boolean } = {},
): Promise<Cell[]> {
  const callers: Array<[string, Caller]> = [...roles].map(([name, role]) => [name, { role }]);
  if (options.withAdministrator) callers.push([ADMINISTRATOR, administratorCaller]);
  const cells: Cell[] = [];
  for (const [principal, caller] of callers) {
    for (const key of KEY_NAMES) {
      for (const action of KMS_ACTIONS) {
        const allowed = await evaluator.allows({
          caller,
          action,
          resource: keys.get(key)!,
          context: honestContext(principal, key, action),
          layer: options.layer,
        });
        cells.push({ principal, key, action, allowed });
      }
    }
  }
  return cells;
}

const LETTER: Record<KmsAction, string> = {
  'kms:Decrypt': 'D',
  'kms:GenerateDataKey': 'G',
  'kms:Encrypt': 'E',
  'kms:ReEncryptFrom': 'Rf',
  'kms:ReEncryptTo': 'Rt',
  'kms:Sign': 'S',
  'kms:Verify': 'V',
  'kms:GetPublicKey': 'P',
};

/** The matrix as a table: one row per principal, one column per key, the allowed actions in each cell. */
export function formatMatrix(cells: readonly Cell[]): string {
  const principals = [...new Set(cells.map((c) => c.principal))];
  const cell = (p: string, k: KeyName) =>
    cells.filter((c) => c.principal === p && c.key === k && c.allowed).map((c) => LETTER[c.action]).join(' ') || '-';
  const rows = [['principal', ...KEY_NAMES], ...principals.map((p) => [p, ...KEY_NAMES.map((k) => cell(p, k))])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const legend = 'D=Decrypt G=GenerateDataKey E=Encrypt Rf/Rt=ReEncryptFrom/To S=Sign V=Verify P=GetPublicKey';
  return [legend, ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  '))].join('\n');
}
