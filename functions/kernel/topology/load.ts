import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import embeddedTopology from '../../../agentsec.config.json';
import { topologySchema } from './schema';
import { Topology, TopologyError } from './model';

/** Reading a topology: from a value, from a file, or the one embedded at build time; and its JSON Schema. */

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
