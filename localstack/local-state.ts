import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { COMPARTMENT_NAME, LEVELS } from '../functions/kernel/labels';
import { TABLES, TableName } from '../functions/kernel/tables';

/**
 * `.agentsec/local.json`: what `agentsec dev` created, for the CLI and for tests outside the repository
 * (DESIGN §10 names every field). It holds the seeded users' passwords, so it is written owner-only (0600).
 */

const nonEmpty = z.string().min(1);
const url = z.url();

const levelLabel = z
  .object({ level: z.enum(LEVELS), compartments: z.array(z.string().regex(COMPARTMENT_NAME)) })
  .strict();

const tableNames = z
  .object(Object.fromEntries(Object.keys(TABLES).map((t) => [t, nonEmpty])) as Record<TableName, typeof nonEmpty>)
  .strict();

export const localResourcesSchema = z
  .object({
    /** The emulator's endpoint, e.g. `http://localhost:4566`. */
    endpoint: url,
    region: nonEmpty,
    /** Base URL of the local HTTP API. */
    apiUrl: url,
    /** Queue URL by agent name. */
    queues: z.record(nonEmpty, url),
    /** By agent name, the queue of messages whose deliveries are exhausted, before they are accounted for. */
    failedQueues: z.record(nonEmpty, url),
    /** Dead-letter queue URL by agent name. */
    dlqs: z.record(nonEmpty, url),
    /** Level key ARN by level. */
    keys: z.object(Object.fromEntries(LEVELS.map((l) => [l, nonEmpty])) as Record<(typeof LEVELS)[number], typeof nonEmpty>).strict(),
    authorityKeyArn: nonEmpty,
    /** Table name by table (`commands`, `ledger`, ...). */
    tables: tableNames,
    userPoolId: nonEmpty,
    userPoolClientId: nonEmpty,
    /** Base URL of the model server the agents use. */
    modelUrl: url,
    /** The operator console (`agentsec dev` serves it); its origin is the API's one CORS origin. */
    consoleUrl: url,
    /** The seeded users, their passwords and clearances. */
    users: z.array(z.object({ username: nonEmpty, password: nonEmpty, clearance: levelLabel }).strict()),
  })
  .strict();

export type LocalResources = z.output<typeof localResourcesSchema>;

/** What provisioning creates: everything but the URLs of the servers the caller starts. */
export type ProvisionedResources = Omit<LocalResources, 'apiUrl' | 'modelUrl' | 'consoleUrl'>;

/** Validates and writes the state file with mode 0600 (atomically: a reader never sees half a file). */
export function writeLocalState(file: string, resources: LocalResources): void {
  const valid = localResourcesSchema.parse(resources);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(valid, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the mode option is filtered by the umask and ignored for an existing file
  renameSync(tmp, file);
}

/** Reads and validates the state file; a missing field or a malformed value is an error naming it. */
export function readLocalState(file: string): LocalResources {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const result = localResourcesSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${file} is not a valid local cloud state: ${problems}`);
  }
  return result.data;
}
