import type * as z from 'zod';

/** What a tool knows about the call it serves. Everything here was checked by the tool runtime. */
export interface ToolContext {
  /** The agent running the tool. */
  readonly agent: string;
  /** The command the call serves. */
  readonly commandId: string;
  /** The user the command belongs to. */
  readonly principal: string;
  /** The outbox id of this call's side effect: the same on every delivery of the same call. */
  readonly effectId: string;
}

/** What a tool produces: text for the model and, for side-effect tools, the effect the runtime records. */
export interface ToolOutcome {
  readonly content: string;
  /** The side effect, written to the outbox by the tool runtime (never by the tool) exactly once. */
  readonly effect?: Record<string, unknown>;
}

/**
 * A tool as code defines it: its name, its argument schema and what it does. Priority, owners and result
 * label live in the topology only (one source of truth). A tool is pure: its one side effect is the
 * `effect` it returns, so computing it again for a duplicate delivery does nothing twice.
 */
export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  /** Name of the argument schema, as the topology's `args` field spells it (e.g. `SendEmailArgs`). */
  readonly argsName: string;
  /** Validates, never transforms: a directive binds the arguments as proposed, and those are what run. */
  readonly args: S;
  execute(args: z.output<S>, ctx: ToolContext): ToolOutcome | Promise<ToolOutcome>;
}

/** Types `execute`'s arguments from the schema. */
export function defineTool<S extends z.ZodType>(definition: ToolDefinition<S>): ToolDefinition<S> {
  return definition;
}
