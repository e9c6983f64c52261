import * as z from 'zod';
import type { Topology, ToolConfig } from '../kernel/topology/topology';
import { lookupPublicInfo } from './lookup-public-info';
import { prescribe } from './prescribe';
import { readPatientRecord } from './read-patient-record';
import { scheduleAppointment } from './schedule-appointment';
import { sendEmail } from './send-email';
import type { ToolDefinition } from '../kernel/tools/tool';

export type { ToolContext, ToolDefinition, ToolOutcome } from '../kernel/tools/tool';

/** Every tool this code base implements. Which agents may run them, and how, is the topology's to say. */
export const DEFAULT_TOOLS: readonly ToolDefinition[] = [lookupPublicInfo, readPatientRecord, scheduleAppointment, sendEmail, prescribe];

/** A tool as it runs: the code's definition and the topology's priority, owners and result label. */
export interface RegisteredTool {
  readonly definition: ToolDefinition;
  readonly config: ToolConfig;
}

/** The topology and the code disagree about which tools exist or what their arguments are. */
export class ToolRegistryError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`tool registry does not match the topology:\n  ${problems.join('\n  ')}`);
    this.name = 'ToolRegistryError';
  }
}

/** The tools of one topology, checked against the code once, at start-up. */
export class ToolRegistry {
  private readonly tools: ReadonlyMap<string, RegisteredTool>;

  constructor(topology: Topology, definitions: readonly ToolDefinition[] = DEFAULT_TOOLS) {
    const problems: string[] = [];
    const byName = new Map<string, ToolDefinition>();
    for (const d of definitions) {
      if (byName.has(d.name)) problems.push(`tool "${d.name}" is defined twice`);
      byName.set(d.name, d);
    }
    for (const config of topology.tools.values()) {
      const d = byName.get(config.name);
      if (!d) problems.push(`the topology names tool "${config.name}", which the registry does not have`);
      else if (d.argsName !== config.args) {
        problems.push(`tool "${config.name}": the topology names args schema "${config.args}", the registry has "${d.argsName}"`);
      }
    }
    for (const d of byName.values()) {
      if (!topology.tools.has(d.name)) problems.push(`the registry has tool "${d.name}", which the topology does not name`);
    }
    if (problems.length > 0) throw new ToolRegistryError(problems);
    this.tools = new Map([...topology.tools.values()].map((config) => [config.name, { config, definition: byName.get(config.name)! }]));
  }

  /** The tool, or undefined for a name the topology does not have (callers refuse it: fail closed). */
  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }
}

const registries = new WeakMap<Topology, ToolRegistry>();

/**
 * The registry of `topology` with the default tools; throws {@link ToolRegistryError} when the topology names
 * a tool or args schema the code does not have, or the code has a tool the topology does not name.
 *
 * @example
 * const registry = toolRegistry(loadTopology()); // at cold start: a mismatch stops the function
 */
export function toolRegistry(topology: Topology): ToolRegistry {
  let registry = registries.get(topology);
  if (!registry) {
    registry = new ToolRegistry(topology);
    registries.set(topology, registry);
  }
  return registry;
}

/**
 * An OpenAI function-tool definition, in the flat form of the Responses API (`FunctionTool`); its name,
 * description and parameters are what the kernel's model client wraps for chat completions.
 */
export interface FunctionToolSpec {
  readonly type: 'function';
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  /** Off: OpenAI's strict mode rejects keywords the schemas use (minLength, maxLength). */
  readonly strict: false;
}

/** JSON Schema of a tool's arguments, without the `$schema` header function definitions do not take. */
export function argumentsJsonSchema(definition: ToolDefinition): Record<string, unknown> {
  const { $schema: _header, ...schema } = z.toJSONSchema(definition.args, { io: 'input' }) as Record<string, unknown>;
  return schema;
}

/**
 * Function-tool definitions of the tools `agent` owns, and no others: a model is offered only what its agent
 * may run (the runtime still refuses anything else, DESIGN §5).
 *
 * @example
 * const tools = toolSpecs(topology, 'edge'); // lookup_public_info and send_email
 * const reply = await model.complete(messages, tools);
 */
export function toolSpecs(topology: Topology, agent: string, registry: ToolRegistry = toolRegistry(topology)): FunctionToolSpec[] {
  return topology.agent(agent).tools.map((name) => {
    const { config, definition } = registry.get(name)!;
    return { type: 'function', name, description: config.description, parameters: argumentsJsonSchema(definition), strict: false };
  });
}
