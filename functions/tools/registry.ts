import * as z from 'zod';
import type { Topology } from '../kernel/topology/topology';
import { ToolRegistry } from '../kernel/tools/registry';
import type { ToolDefinition } from '../kernel/tools/tool';

export type { ToolContext, ToolDefinition, ToolOutcome } from '../kernel/tools/tool';
export { ToolRegistry, ToolRegistryError } from '../kernel/tools/registry';
export type { RegisteredTool } from '../kernel/tools/registry';

/**
 * The esbuild `define`s that make an agent's Lambda bundle hold only the tools it owns (DESIGN §3): the bundle is
 * marked as an agent's, and each tool the code has is marked `owned` or `not-owned`, which leaves the branch of every
 * tool the agent does not own below dead code that esbuild drops with the tool's module (lib/agent.ts passes them).
 *
 * @example
 * toolBundleDefines(['lookup_public_info', 'send_email']); // { 'process.env.AGENTSEC_BUNDLE': '"agent"', ... }
 */
export function toolBundleDefines(owned: readonly string[]): Record<string, string> {
  const defines: Record<string, string> = { 'process.env.AGENTSEC_BUNDLE': JSON.stringify('agent') };
  for (const { name } of DEFAULT_TOOLS) defines[`process.env.${toolSwitch(name)}`] = JSON.stringify(owned.includes(name) ? 'owned' : 'not-owned');
  return defines;
}

/** The build-time switch of a tool: `AGENTSEC_TOOL_READ_PATIENT_RECORD`. */
function toolSwitch(name: string): string {
  return `AGENTSEC_TOOL_${name.toUpperCase()}`;
}

/**
 * The tools of this build. Outside an agent's bundle (tests, the local cloud, the CDK app) every tool the code
 * implements; in an agent's bundle only those {@link toolBundleDefines} marked owned. Each condition is spelled out
 * so that esbuild folds it to a constant: a `require` in a dead branch never enters the bundle.
 */
function toolsOfThisBuild(): ToolDefinition[] {
  const tools: ToolDefinition[] = [];
  if (process.env.AGENTSEC_BUNDLE !== 'agent' || process.env.AGENTSEC_TOOL_LOOKUP_PUBLIC_INFO === 'owned') {
    tools.push((require('./lookup-public-info') as typeof import('./lookup-public-info')).lookupPublicInfo);
  }
  if (process.env.AGENTSEC_BUNDLE !== 'agent' || process.env.AGENTSEC_TOOL_READ_PATIENT_RECORD === 'owned') {
    tools.push((require('./read-patient-record') as typeof import('./read-patient-record')).readPatientRecord);
  }
  if (process.env.AGENTSEC_BUNDLE !== 'agent' || process.env.AGENTSEC_TOOL_SCHEDULE_APPOINTMENT === 'owned') {
    tools.push((require('./schedule-appointment') as typeof import('./schedule-appointment')).scheduleAppointment);
  }
  if (process.env.AGENTSEC_BUNDLE !== 'agent' || process.env.AGENTSEC_TOOL_SEND_EMAIL === 'owned') {
    tools.push((require('./send-email') as typeof import('./send-email')).sendEmail);
  }
  if (process.env.AGENTSEC_BUNDLE !== 'agent' || process.env.AGENTSEC_TOOL_PRESCRIBE === 'owned') {
    tools.push((require('./prescribe') as typeof import('./prescribe')).prescribe);
  }
  return tools;
}

/**
 * Every tool this code base implements (in an agent's bundle: the agent's own). Which agents may run them, and how,
 * is the topology's to say.
 */
export const DEFAULT_TOOLS: readonly ToolDefinition[] = toolsOfThisBuild();

const registries = new WeakMap<Topology, Map<string, ToolRegistry>>();

/**
 * The registry of `topology` with the default tools, or, for `agent`, with the tools it owns; throws
 * {@link ToolRegistryError} when the topology names a tool (of the agent), args schema or store read the code does
 * not have, or the code has a tool the topology does not name.
 *
 * @example
 * const registry = toolRegistry(loadTopology(), 'analyst'); // at cold start: a mismatch stops the function
 */
export function toolRegistry(topology: Topology, agent?: string): ToolRegistry {
  let byAgent = registries.get(topology);
  if (!byAgent) registries.set(topology, (byAgent = new Map()));
  let registry = byAgent.get(agent ?? '');
  if (!registry) {
    registry = new ToolRegistry(topology, DEFAULT_TOOLS, { agent });
    byAgent.set(agent ?? '', registry);
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
export function toolSpecs(topology: Topology, agent: string, registry: ToolRegistry = toolRegistry(topology, agent)): FunctionToolSpec[] {
  return topology.agent(agent).tools.map((name) => {
    const { config, definition } = registry.get(name)!;
    return { type: 'function', name, description: config.description, parameters: argumentsJsonSchema(definition), strict: false };
  });
}
