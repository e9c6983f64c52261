/** Writes the JSON Schema of the topology file (`npm run schema`); a test keeps the committed copy current. */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { topologyJsonSchema } from '../functions/kernel/topology/topology';

export const SCHEMA_PATH = path.resolve(__dirname, '..', 'schema', 'agentsec.config.schema.json');

export function renderConfigSchema(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  mkdirSync(path.dirname(SCHEMA_PATH), { recursive: true });
  writeFileSync(SCHEMA_PATH, renderConfigSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_PATH)}`);
}
