import type { Topology, ToolConfig } from '../topology/topology';
import type { ToolDefinition } from './tool';

/*
 * The tools an agent may run are the topology's to say; what each tool does is application code. The kernel
 * receives the definitions and checks them against the topology, so it depends on no tool (DESIGN §5).
 */

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

export interface ToolRegistryOptions {
  /**
   * The agent whose function this is: only its own tools are registered and required, so its bundle need hold no other
   * (DESIGN §3); any other tool is unknown to it, and refused. @default every tool of the topology
   */
  readonly agent?: string;
}

/** The tools of one topology, checked against the code once, at start-up. */
export class ToolRegistry {
  private readonly tools: ReadonlyMap<string, RegisteredTool>;

  constructor(topology: Topology, definitions: readonly ToolDefinition[], options: ToolRegistryOptions = {}) {
    const problems: string[] = [];
    const byName = new Map<string, ToolDefinition>();
    for (const d of definitions) {
      if (byName.has(d.name)) problems.push(`tool "${d.name}" is defined twice`);
      byName.set(d.name, d);
    }
    const owner = options.agent === undefined ? undefined : topology.agent(options.agent);
    const configs = [...topology.tools.values()].filter((config) => !owner || owner.tools.includes(config.name));
    for (const config of configs) {
      const d = byName.get(config.name);
      if (!d) problems.push(`the topology names tool "${config.name}", which the registry does not have`);
      else if (d.argsName !== config.args) {
        problems.push(`tool "${config.name}": the topology names args schema "${config.args}", the registry has "${d.argsName}"`);
      } else if (!sameStores(d.reads ?? [], config.reads)) {
        problems.push(`tool "${config.name}": the topology says it reads [${config.reads.join(', ')}], the code [${(d.reads ?? []).join(', ')}]`);
      }
      const declared = d ? argumentNames(d) : undefined;
      for (const arg of Object.keys(config.arguments)) {
        if (declared && !declared.includes(arg)) problems.push(`tool "${config.name}": the topology has a policy for argument "${arg}", which its schema does not have`);
      }
    }
    for (const d of byName.values()) {
      if (!topology.tools.has(d.name)) problems.push(`the registry has tool "${d.name}", which the topology does not name`);
    }
    if (problems.length > 0) throw new ToolRegistryError(problems);
    this.tools = new Map(configs.map((config) => [config.name, { config, definition: byName.get(config.name)! }]));
  }

  /** The tool, or undefined for a name the topology does not have (callers refuse it: fail closed). */
  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }
}

/** A tool reads exactly the stores the topology says: the topology grants its owners access to them, nothing else. */
function sameStores(code: readonly string[], topology: readonly string[]): boolean {
  return code.length === topology.length && code.every((store) => topology.includes(store));
}

/** The argument names of a tool's schema (an object schema), or undefined when it is not one. */
function argumentNames(d: ToolDefinition): string[] | undefined {
  const shape = (d.args as { shape?: Record<string, unknown> }).shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : undefined;
}
