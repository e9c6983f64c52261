import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { LEVELS } from '../functions/kernel/labels';
import { LEDGER_TYPES } from '../functions/kernel/ledger/entry';
import { Topology, loadTopology } from '../functions/kernel/topology/topology';
import type { ConsoleTopology } from './src/topology';

/**
 * The operator console, built: a static single-page app of three files that any static host serves (the local cloud's
 * console server, an S3 bucket). What it needs to know about the deployment comes at run time from `/config.json`
 * beside it; what it needs from the topology (levels, compartments, tools) is built in, from the same topology file
 * the stack is built from.
 */

/** The files of the built console, by name. */
export const CONSOLE_FILES = ['index.html', 'app.js', 'styles.css'] as const;
export type ConsoleFile = (typeof CONSOLE_FILES)[number];
export type ConsoleAssets = Readonly<Record<ConsoleFile, Buffer>>;

const SOURCE = path.join(__dirname, 'src');

/**
 * The console's files, in memory: `app.js` bundled from `console/src/main.ts` with esbuild, the page and the style
 * sheet as they are.
 *
 * @example
 * const { 'app.js': script } = bundleConsoleSync();
 */
export function bundleConsoleSync(topology: Topology = loadTopology()): ConsoleAssets {
  const result = buildSync({
    entryPoints: [path.join(SOURCE, 'main.ts')],
    bundle: true,
    write: false,
    outfile: 'app.js',
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    tsconfig: path.join(__dirname, 'tsconfig.json'),
    define: { __AGENTSEC_TOPOLOGY__: JSON.stringify(consoleTopology(topology)) },
    logLevel: 'silent',
  });
  const script = result.outputFiles.find((f) => path.basename(f.path) === 'app.js');
  if (!script) throw new Error('esbuild produced no app.js for the console');
  return {
    'index.html': readFileSync(path.join(SOURCE, 'index.html')),
    'app.js': Buffer.from(script.contents),
    'styles.css': readFileSync(path.join(SOURCE, 'styles.css')),
  };
}

/**
 * Builds the console into `outDir` (created when missing): `index.html`, `app.js` and `styles.css`. The host must
 * serve `config.json` beside them (`{apiUrl, region, userPoolClientId, cognitoEndpoint?}`).
 *
 * @example
 * buildConsoleSync('cdk.out/console');
 */
export function buildConsoleSync(outDir: string): void {
  const assets = bundleConsoleSync();
  mkdirSync(outDir, { recursive: true });
  for (const file of CONSOLE_FILES) writeFileSync(path.join(outDir, file), assets[file]);
}

/** What the console shows from the topology: nothing about agents, users or keys. */
function consoleTopology(topology: Topology): ConsoleTopology {
  return {
    levels: [...LEVELS],
    compartments: [...topology.compartments],
    tools: [...topology.tools.values()].map((t) => ({ name: t.name, priority: t.priority, description: t.description })),
    ledgerTypes: [...LEDGER_TYPES],
  };
}

// `npm run build:console [-- OUT_DIR]`: the console into OUT_DIR (default dist/console), for any static host.
if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist', 'console'));
  buildConsoleSync(outDir);
  process.stdout.write(`built the console into ${outDir}: ${CONSOLE_FILES.join(', ')} (serve config.json beside them)\n`);
}
