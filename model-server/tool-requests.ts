import { synthesizeArguments } from './arguments';
import { proposeRelease } from './releases';
import { jsonObjectAfter, maskQuoted, mentions, sentenceAround } from './instruction';
import type { ProposedCall, ToolSpec } from './protocol';

/**
 * The tool calls an instruction asks for: every offered tool it names outside quoted material and that
 * was not called yet, in the order named. Arguments are the JSON object written after the name (before
 * the next tool is named), else synthesized from the tool's schema.
 */
export function requestedCalls(instruction: string, tools: readonly ToolSpec[], alreadyCalled: ReadonlySet<string>): ProposedCall[] {
  const masked = maskQuoted(instruction);
  const named = mentions(masked, tools.map((t) => t.function.name));
  return named.flatMap((mention, i) => {
    if (alreadyCalled.has(mention.name)) return [];
    const until = named[i + 1]?.index ?? instruction.length;
    const written = jsonObjectAfter(instruction, masked, mention.end, until);
    const tool = tools.find((t) => t.function.name === mention.name)!;
    const args = written?.value ?? argumentsFromSchema(tool, instruction, mention.index);
    return [{ name: mention.name, args }];
  });
}

/**
 * Arguments from a tool's schema, with the sentence at `index` as the instruction sentence. Values are
 * read from the instruction outside quoted blocks, so a quoted document cannot choose a recipient.
 */
export function argumentsFromSchema(tool: ToolSpec | undefined, text: string, index: number): Record<string, unknown> {
  if (!tool?.function.parameters) return {};
  const own = ownText(text);
  const sentence = sentenceAround(own, index);
  const args = synthesizeArguments(tool.function.parameters, { text: own, sentence });
  // A delegation that offers release rules gets a release when the sentence gives every field of one (DESIGN §6).
  const release = proposeRelease((tool.function.parameters.properties as Record<string, Record<string, unknown>> | undefined)?.release, sentence);
  return release ? { ...args, release } : args;
}

let lastOwnText: { text: string; own: string } | undefined;

/** The text outside quoted blocks; remembered for the last text, which is asked for once per tool named. */
function ownText(text: string): string {
  if (lastOwnText?.text !== text) lastOwnText = { text, own: maskQuoted(text, { strings: false }) };
  return lastOwnText.own;
}
