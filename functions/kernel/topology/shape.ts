import * as z from 'zod';
import { LEVELS } from '../labels';
import { compartmentNameSchema, labelObjectSchema } from './label-schema';

/**
 * The shapes of the topology file `agentsec.config.json`. What the shapes cannot say (names that must refer
 * to each other, labels that must dominate) is checked by the invariants in ./invariants.
 */

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,30}$/, 'must be lower-case letters, digits, "-" or "_", starting with a letter');

/** A label as the file writes it: compartments may be omitted and come in any order (Topology canonicalises). */
const labelSchema = labelObjectSchema.extend({ compartments: labelObjectSchema.shape.compartments.default([]) });

const modelEndpointSchema = z
  .object({
    baseUrl: z.url(),
    baseUrlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('Environment variable that overrides baseUrl'),
    model: z.string().min(1),
    trust: labelSchema.describe('The highest label a prompt sent to this endpoint may carry (egress guard)'),
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('Environment variable holding the API key where apiKeySecret does not apply (one machine)'),
    apiKeySecret: z
      .string()
      .regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'must be a Secrets Manager secret name: letters, digits and /_+=.@-')
      .optional()
      .describe(
        'Secrets Manager secret holding the API key on AWS (e.g. "agentsec/openai"): the stack creates it empty, an operator sets its value, only the agents using this endpoint may read it',
      ),
  })
  .strict();

const agentSchema = z
  .object({
    description: z.string().default(''),
    clearance: labelSchema,
    model: name.describe('Name of a model endpoint'),
    sendsTo: z.array(name).describe('Agents this agent may send messages to (queue send rights follow these edges)'),
    batchSize: z.number().int().min(1).max(10).default(5),
    maxConcurrency: z.number().int().min(2).max(1000).default(2),
    memoryMiB: z.number().int().min(128).max(10240).default(512),
    timeoutSeconds: z.number().int().min(1).max(900).default(60),
  })
  .strict();

/** Stores of classified data a tool may read: `records`, the sealed records table (DESIGN §3: data at rest). */
export const READABLE_STORES = ['records'] as const;
export type ReadableStore = (typeof READABLE_STORES)[number];

/**
 * What the signer requires of one argument of a high-priority call (DESIGN §5). A target-like argument (a recipient,
 * a patient, an amount) must come from a trusted source: a capability that names the value, the values listed here
 * (an address book), or, when `fromUserText`, the user's own command text. Everything a model produced is untrusted.
 */
const argumentPolicySchema = z
  .object({
    target: z.boolean().default(false).describe('A target-like argument: on a high or critical call its value must come from a trusted source'),
    knownValues: z
      .array(z.string().min(1).max(512))
      .max(1000)
      .default([])
      .describe('Values the topology trusts for this argument (an address book, a list of departments)'),
    fromUserText: z.boolean().default(false).describe("A value that appears in the user's own command text is trusted"),
  })
  .strict();

const toolSchema = z
  .object({
    description: z.string().default(''),
    priority: z.enum(['low', 'high', 'critical']),
    owners: z.array(name).min(1).describe('Agents allowed to run this tool'),
    args: z.string().min(1).describe('Name of the argument schema in the tool registry'),
    resultLabel: labelSchema,
    reads: z
      .array(z.enum(READABLE_STORES))
      .default([])
      .describe('Stores of classified data the tool reads ("records": the sealed records table); its owners are granted reads of it, up to their clearance'),
    approvals: z.number().int().min(1).max(10).optional().describe('Distinct human approvals a critical tool needs'),
    arguments: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/), argumentPolicySchema)
      .default({})
      .describe('Argument policies the signer enforces on high and critical calls (target-like arguments and their trusted sources)'),
    sink: labelSchema
      .optional()
      .describe('The tool sends data out of the system: the trust label of where it goes; its arguments may carry nothing above it'),
  })
  .strict();

const redactionRuleSchema = z
  .object({
    name: z.string().min(1),
    pattern: z.string().min(1).describe('ECMAScript regular expression'),
    flags: z.string().regex(/^[imsu]*$/).default(''),
    replacement: z.string().default('[REDACTED]'),
  })
  .strict();

/** A field a release rule may carry (DESIGN §6): one typed value, checked after NFKC normalization, ASCII only. */
export const RELEASE_FIELD_TYPES = ['digit', 'integer', 'enum', 'time', 'timeRange', 'date', 'pattern'] as const;

const releaseFieldSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('digit').describe('One ASCII digit 0-9') }).strict(),
  z
    .object({ type: z.literal('integer'), min: z.number().int().min(-1e9).max(1e9), max: z.number().int().min(-1e9).max(1e9) })
    .strict()
    .refine((f) => f.min <= f.max, { message: 'min must not exceed max', path: ['min'] })
    .describe('A decimal integer within [min, max], released in canonical form'),
  z
    .object({ type: z.literal('enum'), values: z.array(z.string().regex(/^[\x20-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters')).min(1).max(100) })
    .strict()
    .describe('One of an allow-list; the released text carries the listed spelling'),
  z.object({ type: z.literal('time') }).strict().describe('HH:MM, 24-hour'),
  z.object({ type: z.literal('timeRange') }).strict().describe('HH:MM-HH:MM, the start before the end'),
  z.object({ type: z.literal('date') }).strict().describe('YYYY-MM-DD, a calendar date'),
  z
    .object({
      type: z.literal('pattern'),
      pattern: z.string().min(2).max(200).describe('ECMAScript regular expression anchored with ^ and $; matched whole, printable ASCII only'),
      maxLength: z.number().int().min(1).max(64).default(32),
    })
    .strict(),
]);

/**
 * A release rule (DESIGN §6): the only shape in which content goes down without a human reading it. The released
 * text is `template` with each `{field}` replaced by a value that fits the field's type; nothing else is released.
 */
const releaseRuleSchema = z
  .object({
    description: z.string().default('').describe('What the rule releases, shown to core\'s model'),
    to: z.array(name).min(1).describe('Agents the rule releases to'),
    from: labelSchema.describe('The highest content label the rule releases from'),
    label: labelSchema.describe('The lowest label a release by this rule may carry'),
    fields: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,30}$/), releaseFieldSchema).describe('The typed values the rule releases'),
    template: z.string().min(1).max(500).describe('The released text: literal text and {field} placeholders, each field once'),
  })
  .strict();

const userSchema = z
  .object({
    username: z.string().regex(/^[a-z][a-z0-9._-]{1,63}$/),
    clearance: labelSchema,
  })
  .strict();

const runtimeSchema = z
  .object({
    directiveTtlSeconds: z.number().int().min(5).max(3600).default(300),
    maxReceiveCount: z.number().int().min(1).max(100).default(3),
    failedMaxReceiveCount: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe('Deliveries of an exhausted message from its failed queue (ledgered, reported) before it goes to the DLQ regardless'),
    visibilityTimeoutSeconds: z.number().int().min(1).max(43200).default(60),
    checkpointEvery: z.number().int().min(1).default(50),
    commandIdleTimeoutSeconds: z
      .number()
      .int()
      .min(30)
      .max(7 * 24 * 3600)
      .default(900)
      .describe('A queued or running command with no progress for this long is failed when next read (its messages were refused or lost)'),
    messageRetentionDays: z.number().int().min(1).max(14).default(4),
  })
  .strict();

export const topologyShape = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    levels: z.array(z.enum(LEVELS)).describe('Must be exactly UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP_SECRET'),
    compartments: z.array(compartmentNameSchema),
    modelEndpoints: z.record(name, modelEndpointSchema),
    agents: z.record(name, agentSchema),
    tools: z.record(name, toolSchema),
    redaction: z.array(redactionRuleSchema),
    release: z
      .record(name, releaseRuleSchema)
      .default({})
      .describe('Release rules: what may be written down, as typed fields in a fixed template (DESIGN §6)'),
    approvers: z.array(z.string()).describe('Usernames whose approvals count for critical tools and declassification'),
    users: z.array(userSchema).describe('Users seeded in the one-machine cloud'),
    votesWithoutPasskey: z
      .strictObject({
        tools: z.array(name).default([]).describe('Critical tools whose approvals may be voted without a passkey (from the CLI)'),
        declassify: z.boolean().default(false).describe('Declassifications may be approved without a passkey'),
      })
      .default({ tools: [], declassify: false })
      .describe('Where an approval may be a vote without a passkey; everywhere else an approval is a WebAuthn assertion (DESIGN §5)'),
    runtime: runtimeSchema.default(runtimeSchema.parse({})),
  })
  .strict();

/** What the file may say, as written (defaults still to apply). */
export type TopologyInput = z.input<typeof topologyShape>;
/** What the file says once its shapes are parsed and defaults applied, before Topology canonicalises labels. */
export type TopologyOutput = z.output<typeof topologyShape>;
