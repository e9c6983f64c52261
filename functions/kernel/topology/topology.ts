import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import embeddedTopology from '../../../agentsec.config.json';
import { LEVELS, Label, label as makeLabel, dominates } from '../labels';

/**
 * The topology file `agentsec.config.json` is the single source of truth: the CDK stack, the IAM matrix,
 * the local cloud and the tests all read it through {@link loadTopology}. Nothing it says is repeated
 * elsewhere by hand.
 */

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,30}$/, 'must be lower-case letters, digits, "-" or "_", starting with a letter');
const compartmentName = z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/, 'must be an upper-case compartment name');

const labelSchema = z
  .object({
    level: z.enum(LEVELS),
    compartments: z.array(compartmentName).default([]),
  })
  .strict();

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

const toolSchema = z
  .object({
    description: z.string().default(''),
    priority: z.enum(['low', 'high', 'critical']),
    owners: z.array(name).min(1).describe('Agents allowed to run this tool'),
    args: z.string().min(1).describe('Name of the argument schema in the tool registry'),
    resultLabel: labelSchema,
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

/**
 * The failed queue's redrive count: a message's receive count travels with it when SQS redrives it, so the
 * failed queue's own deliveries come on top of those the agent's queue already made.
 */
export function failedQueueRedriveCount(runtime: { maxReceiveCount: number; failedMaxReceiveCount: number }): number {
  return runtime.maxReceiveCount + runtime.failedMaxReceiveCount;
}

export const topologySchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    levels: z.array(z.enum(LEVELS)).describe('Must be exactly UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP_SECRET'),
    compartments: z.array(compartmentName),
    modelEndpoints: z.record(name, modelEndpointSchema),
    agents: z.record(name, agentSchema),
    tools: z.record(name, toolSchema),
    redaction: z.array(redactionRuleSchema),
    approvers: z.array(z.string()).describe('Usernames whose approvals count for critical tools and declassification'),
    users: z.array(userSchema).describe('Users seeded in the one-machine cloud'),
    runtime: runtimeSchema.default(runtimeSchema.parse({})),
  })
  .strict()
  .superRefine((t, ctx) => {
    const issue = (p: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path: p, message });
    if (JSON.stringify(t.levels) !== JSON.stringify(LEVELS)) {
      issue(['levels'], `must be exactly ${LEVELS.join(', ')} (lowest first)`);
    }
    const compartments = new Set(t.compartments);
    const checkLabel = (l: { compartments: string[] }, p: (string | number)[]) =>
      l.compartments.forEach((c, i) => {
        if (!compartments.has(c)) issue([...p, 'compartments', i], `unknown compartment "${c}"`);
      });
    if (!t.agents.core) issue(['agents'], 'the kernel agent "core" is required');
    for (const [n, e] of Object.entries(t.modelEndpoints)) checkLabel(e.trust, ['modelEndpoints', n, 'trust']);
    for (const [n, a] of Object.entries(t.agents)) {
      checkLabel(a.clearance, ['agents', n, 'clearance']);
      if (!t.modelEndpoints[a.model]) issue(['agents', n, 'model'], `unknown model endpoint "${a.model}"`);
      a.sendsTo.forEach((to, i) => {
        if (!t.agents[to]) issue(['agents', n, 'sendsTo', i], `unknown agent "${to}"`);
        if (to === n) issue(['agents', n, 'sendsTo', i], 'an agent cannot send to itself');
      });
    }
    for (const [n, tool] of Object.entries(t.tools)) {
      checkLabel(tool.resultLabel, ['tools', n, 'resultLabel']);
      tool.owners.forEach((o, i) => {
        const owner = t.agents[o];
        if (!owner) issue(['tools', n, 'owners', i], `unknown agent "${o}"`);
        // No read up (DESIGN §2): an agent may only run tools whose results it is cleared to read.
        else if (!dominates(makeLabel(owner.clearance.level, owner.clearance.compartments), makeLabel(tool.resultLabel.level, tool.resultLabel.compartments))) {
          issue(['tools', n, 'owners', i], `agent "${o}" is not cleared for this tool's result label`);
        }
      });
      if (tool.priority === 'critical' && tool.approvals === undefined) {
        issue(['tools', n, 'approvals'], 'a critical tool must say how many approvals it needs');
      }
      if (tool.priority !== 'critical' && tool.approvals !== undefined) {
        issue(['tools', n, 'approvals'], 'only critical tools take approvals');
      }
    }
    t.redaction.forEach((r, i) => {
      try {
        new RegExp(r.pattern, r.flags);
      } catch (err) {
        issue(['redaction', i, 'pattern'], `invalid regular expression: ${(err as Error).message}`);
      }
    });
    const usernames = new Set<string>();
    t.users.forEach((u, i) => {
      if (usernames.has(u.username)) issue(['users', i, 'username'], `duplicate user "${u.username}"`);
      usernames.add(u.username);
      checkLabel(u.clearance, ['users', i, 'clearance']);
    });
    t.approvers.forEach((a, i) => {
      if (!usernames.has(a)) issue(['approvers', i], `unknown user "${a}"`);
    });
  });

export type TopologyInput = z.input<typeof topologySchema>;
type Parsed = z.output<typeof topologySchema>;

export type ModelEndpointConfig = Omit<Parsed['modelEndpoints'][string], 'trust'> & { readonly name: string; readonly trust: Label };
export type AgentConfig = Omit<Parsed['agents'][string], 'clearance'> & {
  readonly name: string;
  readonly clearance: Label;
  /** Tools this agent may run, derived from the tools' `owners` (listed once, on the tool). */
  readonly tools: readonly string[];
};
export type ToolConfig = Omit<Parsed['tools'][string], 'resultLabel'> & { readonly name: string; readonly resultLabel: Label };
export type UserConfig = { readonly username: string; readonly clearance: Label };
export type RedactionRule = Parsed['redaction'][number];
export type RuntimeConfig = Parsed['runtime'];

/** A validated topology with canonical labels and lookups that fail closed. */
export class Topology {
  readonly compartments: ReadonlySet<string>;
  readonly agents: ReadonlyMap<string, AgentConfig>;
  readonly tools: ReadonlyMap<string, ToolConfig>;
  readonly modelEndpoints: ReadonlyMap<string, ModelEndpointConfig>;
  readonly users: readonly UserConfig[];
  readonly approvers: ReadonlySet<string>;
  readonly redaction: readonly RedactionRule[];
  readonly runtime: RuntimeConfig;

  constructor(parsed: Parsed) {
    const canon = (l: { level: (typeof LEVELS)[number]; compartments: string[] }) => makeLabel(l.level, l.compartments);
    this.compartments = new Set(parsed.compartments);
    this.modelEndpoints = new Map(
      Object.entries(parsed.modelEndpoints).map(([n, e]) => [n, Object.freeze({ ...e, name: n, trust: canon(e.trust) })]),
    );
    this.tools = new Map(
      Object.entries(parsed.tools).map(([n, t]) => [n, Object.freeze({ ...t, name: n, resultLabel: canon(t.resultLabel) })]),
    );
    this.agents = new Map(
      Object.entries(parsed.agents).map(([n, a]) => [
        n,
        Object.freeze({
          ...a,
          name: n,
          clearance: canon(a.clearance),
          tools: Object.freeze(Object.entries(parsed.tools).filter(([, t]) => t.owners.includes(n)).map(([tn]) => tn)),
        }),
      ]),
    );
    this.users = parsed.users.map((u) => Object.freeze({ username: u.username, clearance: canon(u.clearance) }));
    this.approvers = new Set(parsed.approvers);
    this.redaction = parsed.redaction;
    this.runtime = parsed.runtime;
  }

  /** The named agent; an unknown name is an error, never a default (fail closed). */
  agent(agentName: string): AgentConfig {
    const a = this.agents.get(agentName);
    if (!a) throw new TopologyError([`unknown agent "${agentName}"`]);
    return a;
  }

  tool(toolName: string): ToolConfig {
    const t = this.tools.get(toolName);
    if (!t) throw new TopologyError([`unknown tool "${toolName}"`]);
    return t;
  }

  modelEndpoint(endpointName: string): ModelEndpointConfig {
    const e = this.modelEndpoints.get(endpointName);
    if (!e) throw new TopologyError([`unknown model endpoint "${endpointName}"`]);
    return e;
  }

  /** True when the topology has the edge `from → to` (queue send rights follow exactly these). */
  allowsEdge(from: string, to: string): boolean {
    return this.agents.get(from)?.sendsTo.includes(to) ?? false;
  }

  /** Agents whose clearance dominates `l`: those who may read it. */
  readersOf(l: Label): AgentConfig[] {
    return [...this.agents.values()].filter((a) => dominates(a.clearance, l));
  }

  agentNames(): string[] {
    return [...this.agents.keys()];
  }
}

/** A topology file that does not validate. The message lists each problem with its JSON path. */
export class TopologyError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid topology:\n  ${problems.join('\n  ')}`);
    this.name = 'TopologyError';
  }
}

function jsonPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>(
    (acc, k) =>
      typeof k === 'number' ? `${acc}[${k}]` : /^[A-Za-z_$][\w$]*$/.test(String(k)) ? `${acc}.${String(k)}` : `${acc}[${JSON.stringify(String(k))}]`,
    '$',
  );
}

/** Validates a parsed JSON value as a topology. */
export function parseTopology(value: unknown): Topology {
  const result = topologySchema.safeParse(value);
  if (!result.success) {
    throw new TopologyError(result.error.issues.map((i) => `${jsonPath(i.path)}: ${i.message}`));
  }
  return new Topology(result.data);
}

/** The repository's default topology file. */
export const DEFAULT_TOPOLOGY_PATH = path.resolve(__dirname, '..', '..', '..', 'agentsec.config.json');

/**
 * Reads and validates a topology file: `file`, else the file named by `AGENTSEC_CONFIG`, else the
 * repository's `agentsec.config.json` (embedded at build time, so a Lambda bundle carries the topology it
 * was deployed with).
 */
export function loadTopology(file: string | undefined = process.env.AGENTSEC_CONFIG): Topology {
  if (file === undefined) return parseTopology(embeddedTopology);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError([`cannot read ${file}: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TopologyError([`${file} is not JSON: ${(err as Error).message}`]);
  }
  return parseTopology(json);
}

/** The JSON Schema of the topology file, published as `schema/agentsec.config.schema.json`. */
export function topologyJsonSchema(): unknown {
  return z.toJSONSchema(topologySchema, { io: 'input', unrepresentable: 'any' });
}
