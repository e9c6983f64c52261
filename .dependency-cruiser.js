/**
 * Walls between the folders of AgentSec, checked by dependency-cruiser (`npm run deps`, run first by `npm test`).
 *
 * Every path pattern is anchored at the start (`^functions/kernel/`) and is matched against paths relative to
 * the directory the cruise runs in (the repository root for `npm run deps`; a temporary fixture tree for
 * test/architecture/dependency-rules.test.ts, which uses this same file).
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** Repository folders that run only on a developer's machine or in CI, never inside the deployed system. */
const LOCAL_ONLY = ['localstack', 'cli', 'bench', 'redteam', 'model-server', 'scripts'];

/** Dependency types of npm packages and node built-ins (what the kernel may use besides itself). */
const PACKAGES_AND_BUILTINS = [
  'core',
  'npm',
  'npm-dev',
  'npm-optional',
  'npm-peer',
  'npm-bundled',
  'npm-no-pkg',
  'npm-unknown',
];

/** Files directly in functions/kernel/topology/ (the `functions/kernel/topology/*` of the exception). */
const TOPOLOGY_FILES = '^functions/kernel/topology/[^/]+$';

const KERNEL_COMMENT =
  'functions/kernel/ is the trusted core (labels, clearances, envelopes, the ledger, the topology model): it may ' +
  'import only other modules under functions/kernel/, npm packages and node built-ins, so that it can be reviewed, ' +
  'tested and reasoned about on its own and nothing outside it (tools, stores, platform, signer, agents, handlers, ' +
  'configuration files...) can change what it decides. ' +
  'One exception: the modules directly in functions/kernel/topology/ (functions/kernel/topology/*) may import the ' +
  'JSON file agentsec.config.json at the repository root, the default topology embedded at build time so that a ' +
  'Lambda bundle carries the topology it was built with.';

module.exports = {
  forbidden: [
    {
      name: 'kernel-imports-only-itself',
      comment: KERNEL_COMMENT,
      severity: 'error',
      from: { path: '^functions/kernel/', pathNot: TOPOLOGY_FILES },
      to: {
        pathNot: ['^functions/kernel/', '(^|/)node_modules/'],
        dependencyTypesNot: PACKAGES_AND_BUILTINS,
      },
    },
    {
      // The same wall for functions/kernel/topology/*, with the one exception (see the comment).
      name: 'kernel-imports-only-itself',
      comment: KERNEL_COMMENT,
      severity: 'error',
      from: { path: TOPOLOGY_FILES },
      to: {
        pathNot: ['^functions/kernel/', '(^|/)node_modules/', '^agentsec\\.config\\.json$'],
        dependencyTypesNot: PACKAGES_AND_BUILTINS,
      },
    },
    {
      name: 'runtime-not-on-local-cloud',
      comment:
        'Everything under functions/ is deployed: the Lambda handlers and all they run. It must not import the local ' +
        'emulator (localstack/), the CDK infrastructure (lib/), or the developer tools (cli/, bench/, redteam/, ' +
        'model-server/, scripts/): these are not in the bundle, would drag dev-only code and trust into production, ' +
        'and would let the local stand-in decide how the real system behaves.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: `^(lib|${LOCAL_ONLY.join('|')})/` },
    },
    {
      name: 'lib-not-on-local-cloud',
      comment:
        'lib/ and bin/app.ts define the real AWS deployment (the CDK app and stack). They must not import the local ' +
        'emulator (localstack/) or the developer tools (cli/, bench/, redteam/, model-server/, scripts/), so what is ' +
        'deployed never depends on how it is run or tested locally.',
      severity: 'error',
      from: { path: '^(lib/|bin/app\\.ts$)' },
      to: { path: `^(${LOCAL_ONLY.join('|')})/` },
    },
    {
      name: 'console-app-is-browser-code',
      comment:
        'console/src/ is the operator console, bundled for the browser (console/build.ts). It may import only itself, ' +
        'npm packages and the one pure module it shares with the CLI (cli/output.ts, how a ledger entry reads): no node ' +
        'built-ins, no kernel, handler or local-cloud code, so nothing server-side (AWS clients, key handling, the whole topology) ' +
        'is shipped to a browser, and the API stays the only thing that decides what a user sees.',
      severity: 'error',
      from: { path: '^console/src/' },
      to: { pathNot: ['^console/src/', '^cli/output\\.ts$', '(^|/)node_modules/'] },
    },
    {
      name: 'agents-reach-the-signer-by-its-client',
      comment:
        'The agents (functions/agents/, their tools and effects, and the core, effector and sequencer handlers) reach ' +
        'the signer only through functions/signer/signer-client.ts, a Lambda invoke. The signer itself, its policy, votes ' +
        'and passkey verification are never in their bundles: an agent runs none of the authority\'s code, and its ' +
        'bundle stays within the size budget (docs/performance.md).',
      severity: 'error',
      from: { path: '^functions/(agents|effects|tools)/|^functions/handlers/(core|effector|sequencer|agent-[a-z-]+)\\.ts$' },
      to: { path: '^functions/signer/', pathNot: '^functions/signer/signer-client\\.ts$' },
    },
    {
      name: 'nothing-imports-tests',
      comment:
        'test/ holds tests, fixtures and test helpers. Nothing outside test/ may import from it: test code is not ' +
        'reviewed or shipped as production code, and fakes or weakened checks must never leak into the product.',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-cycles',
      comment:
        'No circular dependencies anywhere: a cycle makes the modules in it one unit that cannot be understood, tested ' +
        'or layered separately, and in CommonJS it gives half-initialised modules at load time. Type-only imports ' +
        '(`import type`) count too (tsPreCompilationDeps: true): they tie the modules together just the same.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|dist|\\.agentsec|reports)(/|$)' },
    // Count `import type` and other imports that TypeScript erases: they are dependencies of the source all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve package subpaths through their `exports` field as node does (`@aws-lambda-powertools/logger/middleware`),
    // so that they count as npm packages rather than as unresolved imports.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types', 'import'],
    },
    skipAnalysisNotInRules: true,
  },
};
