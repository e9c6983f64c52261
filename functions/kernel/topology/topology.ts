/**
 * The topology file `agentsec.config.json` is the single source of truth: the CDK stack, the IAM matrix, the
 * local cloud and the tests all read it through {@link loadTopology}. This is its public entry point: the
 * validated view in ./model.ts, the shapes in ./shape.ts, the cross-reference checks in ./invariants (one file
 * per invariant), the whole schema in ./schema.ts, reading the file in ./load.ts.
 */

export * from './model';
export { topologySchema } from './schema';
export type { TopologyInput, TopologyOutput } from './shape';
export { DEFAULT_TOPOLOGY_PATH, loadTopology, parseTopology, topologyJsonSchema } from './load';
