import type * as z from 'zod';
import type { Label } from '../labels';
import type { ReadableStore } from '../topology/topology';

/** A classified record as a tool receives it: opened by the kernel, with the label it was sealed under. */
export interface OpenedRecord {
  readonly recordId: string;
  readonly label: Label;
  /** The record's content as sealed (JSON): untrusted in shape, so the tool parses it with its own schema. */
  readonly body: unknown;
}

/**
 * The records a tool reads, through the kernel (DESIGN §3): only records its agent's clearance dominates and its
 * result label covers; anything else is refused (READ_UP, WRITE_DOWN) before KMS is asked, and KMS refuses a
 * reader IAM does not clear.
 */
export interface RecordReader {
  /** The record, or undefined when there is none with this id. */
  read(recordId: string): Promise<OpenedRecord | undefined>;
}

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
  /** Classified records, for a tool that declares it reads them (`reads: ['records']`); others are refused. */
  readonly records?: RecordReader;
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
  /** Stores of classified data it reads, as the topology's `reads` must also say (checked at start-up). @default none */
  readonly reads?: readonly ReadableStore[];
  execute(args: z.output<S>, ctx: ToolContext): ToolOutcome | Promise<ToolOutcome>;
}

/**
 * The record reader of a tool that declares `reads: ['records']` (the runtime gives one to such tools only); a tool
 * asking without declaring it fails, never reads.
 */
export function recordsOf(ctx: ToolContext): RecordReader {
  if (!ctx.records) throw new Error(`no record reader for this call: a tool that reads records declares reads: ['records']`);
  return ctx.records;
}

/** Types `execute`'s arguments from the schema. */
export function defineTool<S extends z.ZodType>(definition: ToolDefinition<S>): ToolDefinition<S> {
  return definition;
}
