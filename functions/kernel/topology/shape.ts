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
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('Environment variable holding the API key'),
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
    approvers: z.array(z.string()).describe('Usernames whose approvals count for critical tools and declassification'),
    users: z.array(userSchema).describe('Users seeded in the one-machine cloud'),
    runtime: runtimeSchema.default(runtimeSchema.parse({})),
  })
  .strict();

/** What the file may say, as written (defaults still to apply). */
export type TopologyInput = z.input<typeof topologyShape>;
/** What the file says once its shapes are parsed and defaults applied, before Topology canonicalises labels. */
export type TopologyOutput = z.output<typeof topologyShape>;
