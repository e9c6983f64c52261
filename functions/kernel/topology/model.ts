import { LEVELS, Label, label as makeLabel, dominates } from '../labels';
import type { TopologyOutput } from './shape';

export { READABLE_STORES } from './shape';
export type { ReadableStore } from './shape';

/**
 * The topology file `agentsec.config.json` is the single source of truth: the CDK stack, the IAM matrix,
 * the local cloud and the tests all read it through {@link loadTopology}. Nothing it says is repeated
 * elsewhere by hand. This module is its public entry point: the validated view here, the schema in
 * ./schema.ts, the cross-reference checks in ./invariants, reading the file in ./load.ts.
 */


/**
 * The failed queue's redrive count: a message's receive count travels with it when SQS redrives it, so the
 * failed queue's own deliveries come on top of those the agent's queue already made.
 */
export function failedQueueRedriveCount(runtime: { maxReceiveCount: number; failedMaxReceiveCount: number }): number {
  return runtime.maxReceiveCount + runtime.failedMaxReceiveCount;
}

type Parsed = TopologyOutput;

export type ModelEndpointConfig = Omit<Parsed['modelEndpoints'][string], 'trust'> & { readonly name: string; readonly trust: Label };
export type AgentConfig = Omit<Parsed['agents'][string], 'clearance'> & {
  readonly name: string;
  readonly clearance: Label;
  /** Tools this agent may run, derived from the tools' `owners` (listed once, on the tool). */
  readonly tools: readonly string[];
};
export type ToolConfig = Omit<Parsed['tools'][string], 'resultLabel' | 'sink'> & {
  readonly name: string;
  readonly resultLabel: Label;
  /** Where the tool sends data out of the system, as a trust label (DESIGN §6); undefined for a tool that sends nothing out. */
  readonly sink?: Label;
};
export type ArgumentPolicy = Parsed['tools'][string]['arguments'][string];
export type UserConfig = { readonly username: string; readonly clearance: Label };
export type RedactionRule = Parsed['redaction'][number];
export type ReleaseField = Parsed['release'][string]['fields'][string];
export type ReleaseRule = Omit<Parsed['release'][string], 'from' | 'label'> & {
  readonly name: string;
  /** The highest content label the rule releases from. */
  readonly from: Label;
  /** The lowest label a release by this rule may carry. */
  readonly label: Label;
};
export type RuntimeConfig = Parsed['runtime'];

/** A validated topology with canonical labels and lookups that fail closed. */
export class Topology {
  readonly compartments: ReadonlySet<string>;
  readonly agents: ReadonlyMap<string, AgentConfig>;
  readonly tools: ReadonlyMap<string, ToolConfig>;
  readonly modelEndpoints: ReadonlyMap<string, ModelEndpointConfig>;
  readonly users: readonly UserConfig[];
  readonly approvers: ReadonlySet<string>;
  /** Where an approval may be a vote without a passkey (DESIGN §5); everywhere else it must be signed by one. */
  readonly votesWithoutPasskey: { readonly tools: ReadonlySet<string>; readonly declassify: boolean };
  readonly redaction: readonly RedactionRule[];
  /** Release rules by name (DESIGN §6): what may be written down, and in which form. */
  readonly release: ReadonlyMap<string, ReleaseRule>;
  readonly runtime: RuntimeConfig;

  constructor(parsed: Parsed) {
    const canon = (l: { level: (typeof LEVELS)[number]; compartments: string[] }) => makeLabel(l.level, l.compartments);
    this.compartments = new Set(parsed.compartments);
    this.modelEndpoints = new Map(
      Object.entries(parsed.modelEndpoints).map(([n, e]) => [n, Object.freeze({ ...e, name: n, trust: canon(e.trust) })]),
    );
    this.tools = new Map(
      Object.entries(parsed.tools).map(([n, t]) => [
        n,
        Object.freeze({ ...t, name: n, resultLabel: canon(t.resultLabel), ...(t.sink ? { sink: canon(t.sink) } : {}) }),
      ]),
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
    this.votesWithoutPasskey = Object.freeze({ tools: new Set(parsed.votesWithoutPasskey.tools), declassify: parsed.votesWithoutPasskey.declassify });
    this.redaction = parsed.redaction;
    this.release = new Map(
      Object.entries(parsed.release).map(([n, r]) => [n, Object.freeze({ ...r, name: n, from: canon(r.from), label: canon(r.label) })]),
    );
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

  /** Agents that own a tool the topology says reads classified records (`reads: ["records"]`, DESIGN §3). */
  recordReaders(): AgentConfig[] {
    return [...this.agents.values()].filter((a) => a.tools.some((t) => this.tool(t).reads.includes('records')));
  }

  /** The record readers cleared for `l` (no read up, DESIGN §2): the record seeder seals a record labelled `l` for each. */
  recordReadersOf(l: Label): AgentConfig[] {
    return this.recordReaders().filter((a) => dominates(a.clearance, l));
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
