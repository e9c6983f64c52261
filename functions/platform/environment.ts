import * as z from 'zod';
import { LEVELS } from '../kernel/labels';
import { TABLES, TableName } from '../kernel/tables';

/**
 * What a handler learns from its environment. The CDK stack sets these on every Lambda; the local cloud sets
 * the same names for the handlers it runs in-process. A missing or malformed value stops the handler at
 * start-up with the variable's name, rather than failing open later.
 */
const jsonRecord = <T extends z.ZodType>(value: T) =>
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  }).pipe(z.record(z.string(), value));

export const environmentSchema = z.object({
  /** This function's agent name (`core`, an effector) — absent for the API and signer functions. */
  AGENTSEC_AGENT: z.string().optional(),
  /** `{"UNCLASSIFIED": "arn:...", ...}`: the level keys. */
  AGENTSEC_KEY_ARNS: jsonRecord(z.string().min(1)).refine((r) => LEVELS.every((l) => typeof r[l] === 'string'), {
    message: `must name a key for each of ${LEVELS.join(', ')}`,
  }),
  /** The authority key (ECC_NIST_P256, SIGN_VERIFY). */
  AGENTSEC_AUTHORITY_KEY_ARN: z.string().min(1),
  /** `{"core": "https://sqs...", ...}`: the queues this function may send to. */
  AGENTSEC_QUEUE_URLS: jsonRecord(z.string().min(1)).default({}),
  /**
   * `{"external": "arn:aws:secretsmanager:..."}`: the Secrets Manager secret holding the API key of this agent's model
   * endpoint, when the topology names one (`apiKeySecret`). Absent on one machine, where `apiKeyEnv` holds the key.
   */
  AGENTSEC_MODEL_SECRETS: jsonRecord(z.string().min(1)).default({}),
  /** Name of the signer function (invoked synchronously for directives). */
  AGENTSEC_SIGNER_FUNCTION: z.string().optional(),
  /** Name of the effect gateway function (invoked synchronously to record a tool's effect). */
  AGENTSEC_EFFECTS_FUNCTION: z.string().optional(),
  AGENTSEC_TABLE_COMMANDS: z.string().min(1),
  AGENTSEC_TABLE_LEDGER: z.string().min(1),
  AGENTSEC_TABLE_NONCES: z.string().min(1),
  AGENTSEC_TABLE_APPROVALS: z.string().min(1),
  AGENTSEC_TABLE_OUTBOX: z.string().min(1),
  AGENTSEC_TABLE_IDEMPOTENCY: z.string().min(1),
  AGENTSEC_TABLE_CONTINUATIONS: z.string().min(1),
  AGENTSEC_TABLE_RECORDS: z.string().min(1),
  /** This agent's dead-letter queue: a message refused for a security reason goes there at once, never into retries. */
  AGENTSEC_DLQ_URL: z.string().optional(),
  /**
   * This agent's queue of messages whose deliveries are exhausted (its queue's redrive target): the function
   * accounts for each — ledger entry, failure report — and moves it on to the dead-letter queue.
   */
  AGENTSEC_FAILED_QUEUE_URL: z.string().optional(),
  AGENTSEC_USER_POOL_ID: z.string().optional(),
  AGENTSEC_USER_POOL_CLIENT_ID: z.string().optional(),
  /**
   * The console's origin (`https://d1234.cloudfront.net`, `http://localhost:5173`): the WebAuthn origin passkey votes
   * must come from, its host the relying party id (DESIGN §5). Absent: no passkey can be registered or verified.
   */
  AGENTSEC_CONSOLE_ORIGIN: z.url({ protocol: /^https?$/ }).optional(),
});

export type AgentSecEnvironment = z.output<typeof environmentSchema>;

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): AgentSecEnvironment {
  const result = environmentSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`AgentSec environment is incomplete: ${problems}`);
  }
  return result.data;
}

/** The table name a handler uses for `table`, from its environment. */
export function tableName(env: AgentSecEnvironment, table: TableName): string {
  return env[TABLES[table].env];
}
