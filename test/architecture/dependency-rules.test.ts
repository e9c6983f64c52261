import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The walls between the folders (`.dependency-cruiser.js`) checked against small fixture trees that mimic the
 * repository's layout. Each tree is written into its own temporary directory and cruised there with the
 * repository's own rule file and dependency-cruiser CLI, exactly as `npm run deps` cruises the repository.
 * The real repository itself is checked by `npm run deps`, which `npm test` runs before jest.
 */

const REPO = path.resolve(__dirname, '..', '..');
const RULES = path.join(REPO, '.dependency-cruiser.js');
const DEPCRUISE = path.join(REPO, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
/** The folders `npm run deps` cruises. */
const CRUISED = ['bin', 'lib', 'functions', 'localstack', 'cli', 'model-server', 'redteam', 'bench', 'scripts', 'test'];

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: Array<{ name: string }>;
}

type Tree = Record<string, string>;

/** A tree that keeps to every wall; each test adds or replaces files to break exactly one. */
const CLEAN: Tree = {
  'package.json': JSON.stringify({ name: 'fixture', private: true, dependencies: { zod: '4.0.0' } }),
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'commonjs',
      moduleResolution: 'node',
      strict: true,
      esModuleInterop: true,
      resolveJsonModule: true,
      isolatedModules: true,
    },
    include: CRUISED.map((folder) => `${folder}/**/*.ts`),
  }),
  // A stand-in npm package, so the kernel's package import resolves as an npm dependency.
  'node_modules/zod/package.json': JSON.stringify({ name: 'zod', version: '4.0.0', main: 'index.js' }),
  'node_modules/zod/index.js': 'exports.string = () => ({});\n',
  'agentsec.config.json': JSON.stringify({ levels: ['UNCLASSIFIED', 'SECRET'] }),

  // The kernel: itself, node built-ins and npm packages; topology/* may read the embedded default topology.
  'functions/kernel/labels.ts': [
    "import { createHash } from 'node:crypto';",
    "import * as z from 'zod';",
    "export const labelSchema = z.string();",
    "export const digest = (s: string): string => createHash('sha256').update(s).digest('hex');",
    '',
  ].join('\n'),
  'functions/kernel/topology/topology.ts': [
    "import type { Label } from '../model';",
    'export interface Topology { levels: string[]; top?: Label }',
    '',
  ].join('\n'),
  'functions/kernel/model.ts': 'export type Label = string;\n',
  'functions/kernel/topology/load.ts': [
    "import embeddedTopology from '../../../agentsec.config.json';",
    "import { digest } from '../labels';",
    "import type { Topology } from './topology';",
    'export const loadTopology = (): Topology => ({ levels: embeddedTopology.levels.map(digest) });',
    '',
  ].join('\n'),
  'functions/kernel/tools/tool-runtime.ts': [
    "import type { Topology } from '../topology/topology';",
    'export interface RegisteredTool { name: string }',
    'export const runTool = (t: Topology, tool: RegisteredTool): string => `${t.levels.length}:${tool.name}`;',
    '',
  ].join('\n'),

  // The rest of the runtime may use the kernel and each other.
  'functions/tools/registry.ts': [
    "import type { RegisteredTool } from '../kernel/tools/tool-runtime';",
    "export const registry: RegisteredTool[] = [{ name: 'search' }];",
    '',
  ].join('\n'),
  'functions/stores/outbox.ts': "import { digest } from '../kernel/labels';\nexport const outboxKey = digest('outbox');\n",
  'functions/handlers/x.ts': [
    "import { loadTopology } from '../kernel/topology/load';",
    "import { runTool } from '../kernel/tools/tool-runtime';",
    "import { registry } from '../tools/registry';",
    "import { outboxKey } from '../stores/outbox';",
    'export const handler = (): string => runTool(loadTopology(), registry[0]) + outboxKey;',
    '',
  ].join('\n'),

  // Infrastructure deploys the runtime; the local cloud and the tools use whatever they need.
  'lib/stack.ts': "import { handler } from '../functions/handlers/x';\nexport const stack = { handler };\n",
  'bin/app.ts': "import { stack } from '../lib/stack';\nexport const app = stack;\n",
  'localstack/y.ts': "import { stack } from '../lib/stack';\nexport const deploy = (): unknown => stack;\n",
  'cli/x.ts': [
    "import { deploy } from '../localstack/y';",
    "import { loadTopology } from '../functions/kernel/topology/load';",
    'export const main = (): unknown => [deploy(), loadTopology()];',
    '',
  ].join('\n'),
  'scripts/tool.ts': "import { main } from '../cli/x';\nexport const run = main;\n",

  // Tests may import anything, including other test files.
  'test/support/helpers.ts': "import { deploy } from '../../localstack/y';\nexport const fixture = deploy;\n",
  'test/y.ts': [
    "import { main } from '../cli/x';",
    "import { fixture } from './support/helpers';",
    "import { handler } from '../functions/handlers/x';",
    'export const all = [main, fixture, handler];',
    '',
  ].join('\n'),
};

const tempDirs: string[] = [];

/** Writes `tree` into a fresh temporary directory, cruises it with the repository's rules, returns the violations. */
function cruise(tree: Tree): Violation[] {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'agentsec-depcruise-')));
  tempDirs.push(dir);
  for (const [file, text] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  const folders = CRUISED.filter((folder) => existsSync(path.join(dir, folder)));
  const run = spawnSync(process.execPath, [DEPCRUISE, ...folders, '--config', RULES, '--output-type', 'json'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  let result: { summary: { violations: Violation[] } };
  try {
    result = JSON.parse(run.stdout);
  } catch {
    throw new Error(`dependency-cruiser did not produce a report (exit ${run.status}):\n${run.stderr}\n${run.stdout}`);
  }
  return result.summary.violations;
}

/** The violations as `rule: from → to`, easy to read in a failure message. */
const describeAll = (violations: Violation[]): string[] =>
  violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('the dependency rules (.dependency-cruiser.js)', () => {
  it('reports nothing for a clean tree that keeps to every wall', () => {
    expect(describeAll(cruise(CLEAN))).toEqual([]);
  });

  it('reports a kernel module importing functions/tools under kernel-imports-only-itself', () => {
    const violations = cruise({
      ...CLEAN,
      'functions/kernel/a.ts': "import { registry } from '../tools/registry';\nexport const tools = registry;\n",
    });
    expect(describeAll(violations)).toEqual([
      'kernel-imports-only-itself: functions/kernel/a.ts → functions/tools/registry.ts',
    ]);
  });

  it('reports a kernel module importing stores, even as a type only, under kernel-imports-only-itself', () => {
    const violations = cruise({
      ...CLEAN,
      'functions/kernel/tools/tool-runtime.ts': [
        "import { outboxKey } from '../../stores/outbox';",
        "import type { RegisteredTool as Registered } from '../../tools/registry';",
        "export { Registered };",
        'export interface RegisteredTool { name: string }',
        'export const runTool = (): string => outboxKey;',
        '',
      ].join('\n'),
    });
    expect(describeAll(violations)).toEqual([
      'kernel-imports-only-itself: functions/kernel/tools/tool-runtime.ts → functions/stores/outbox.ts',
      'kernel-imports-only-itself: functions/kernel/tools/tool-runtime.ts → functions/tools/registry.ts',
      // The type-only import of the registry also closes a cycle (registry imports tool-runtime's types).
      'no-cycles: functions/kernel/tools/tool-runtime.ts → functions/tools/registry.ts',
    ]);
  });

  it('allows agentsec.config.json only to functions/kernel/topology/*, not to the rest of the kernel', () => {
    const violations = cruise({
      ...CLEAN,
      'functions/kernel/labels.ts': "import config from '../../agentsec.config.json';\nexport const levels = config.levels;\n",
    });
    expect(describeAll(violations)).toEqual(['kernel-imports-only-itself: functions/kernel/labels.ts → agentsec.config.json']);
  });

  it('reports a handler importing localstack/ under runtime-not-on-local-cloud', () => {
    const violations = cruise({
      ...CLEAN,
      'localstack/y.ts': 'export const deploy = (): unknown => null;\n',
      'functions/handlers/x.ts': "import { deploy } from '../../localstack/y';\nexport const handler = deploy;\n",
    });
    expect(describeAll(violations)).toEqual(['runtime-not-on-local-cloud: functions/handlers/x.ts → localstack/y.ts']);
  });

  it('reports lib/ or bin/app.ts importing local-only folders under lib-not-on-local-cloud', () => {
    const violations = cruise({
      ...CLEAN,
      'model-server/server.ts': 'export const port = 8080;\n',
      'lib/stack.ts': "import { port } from '../model-server/server';\nexport const stack = { port };\n",
      'bin/app.ts': "import { stack } from '../lib/stack';\nimport { main } from '../cli/x';\nexport const app = [stack, main];\n",
      'cli/x.ts': 'export const main = (): unknown => null;\n',
    });
    expect(describeAll(violations)).toEqual([
      'lib-not-on-local-cloud: bin/app.ts → cli/x.ts',
      'lib-not-on-local-cloud: lib/stack.ts → model-server/server.ts',
    ]);
  });

  it('reports an agent importing the signer itself under agents-reach-the-signer-by-its-client', () => {
    const violations = cruise({
      ...CLEAN,
      'functions/signer/signer.ts': "export const SIGNER_ACTOR = 'signer';\n",
      'functions/signer/signer-client.ts': 'export interface SignerClient { request(): unknown }\n',
      'functions/agents/ask-signer.ts':
        "import { SIGNER_ACTOR } from '../signer/signer';\nimport type { SignerClient } from '../signer/signer-client';\nexport const ask = (c: SignerClient): unknown => [SIGNER_ACTOR, c];\n",
      'functions/handlers/core.ts': "import type { SignerClient } from '../signer/signer-client';\nexport const handler = (c: SignerClient): unknown => c;\n",
    });
    expect(describeAll(violations)).toEqual(['agents-reach-the-signer-by-its-client: functions/agents/ask-signer.ts → functions/signer/signer.ts']);
  });

  it('reports cli/ importing test/ under nothing-imports-tests', () => {
    const violations = cruise({
      ...CLEAN,
      'test/y.ts': 'export const fake = (): unknown => null;\n',
      'cli/x.ts': "import { fake } from '../test/y';\nexport const main = fake;\n",
    });
    expect(describeAll(violations)).toEqual(['nothing-imports-tests: cli/x.ts → test/y.ts']);
  });

  it('reports a two-file cycle under no-cycles', () => {
    const violations = cruise({
      ...CLEAN,
      'functions/stores/a.ts': "import { b } from './b';\nexport const a = (): number => b() + 1;\n",
      'functions/stores/b.ts': "import { a } from './a';\nexport const b = (): number => (a ? 1 : 0);\n",
    });
    expect(violations.every((v) => v.rule.name === 'no-cycles')).toBe(true);
    expect(violations.length).toBeGreaterThan(0);
    const inCycles = new Set(violations.flatMap((v) => [v.from, ...(v.cycle ?? []).map((c) => c.name)]));
    expect([...inCycles].sort()).toEqual(['functions/stores/a.ts', 'functions/stores/b.ts']);
  });

  it('counts a cycle closed by an `import type` (tsPreCompilationDeps: true)', () => {
    const violations = cruise({
      ...CLEAN,
      'functions/kernel/ledger/checkpoints.ts': [
        "import type { Anchor } from './checkpoint-anchor';",
        'export interface Checkpoint { at: number; anchor?: Anchor }',
        'export const checkpoint = (at: number): Checkpoint => ({ at });',
        '',
      ].join('\n'),
      'functions/kernel/ledger/checkpoint-anchor.ts': [
        "import { checkpoint } from './checkpoints';",
        'export interface Anchor { id: string }',
        'export const anchorNow = (): unknown => checkpoint(Date.now());',
        '',
      ].join('\n'),
    });
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => v.rule.name === 'no-cycles')).toBe(true);
  });
});
