import * as z from 'zod';
import type { Topology } from '../kernel/topology/topology';
import { lookupPublicInfo } from './lookup-public-info';
import { prescribe } from './prescribe';
import { readPatientRecord } from './read-patient-record';
import { scheduleAppointment } from './schedule-appointment';
import { sendEmail } from './send-email';
import { ToolRegistry } from '../kernel/tools/registry';
import type { ToolDefinition } from '../kernel/tools/tool';

export type { ToolContext, ToolDefinition, ToolOutcome } from '../kernel/tools/tool';
export { ToolRegistry, ToolRegistryError } from '../kernel/tools/registry';
export type { RegisteredTool } from '../kernel/tools/registry';

/** Every tool this code base implements. Which agents may run them, and how, is the topology's to say. */
export const DEFAULT_TOOLS: readonly ToolDefinition[] = [lookupPublicInfo, readPatientRecord, scheduleAppointment, sendEmail, prescribe];

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
    registry = new ToolRegistry(topology, DEFAULT_TOOLS);
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
