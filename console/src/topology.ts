/**
 * What the console knows of the topology, built in by `console/build.ts` from the topology file the stack is built
 * from (levels, compartments, tools, ledger entry types): the lists a form offers. The API decides what is allowed.
 */
export interface ConsoleTopology {
  readonly levels: readonly string[];
  readonly compartments: readonly string[];
  readonly tools: ReadonlyArray<{ readonly name: string; readonly priority: 'low' | 'high' | 'critical'; readonly description: string }>;
  readonly ledgerTypes: readonly string[];
}

declare const __AGENTSEC_TOPOLOGY__: ConsoleTopology;

export const TOPOLOGY: ConsoleTopology = __AGENTSEC_TOPOLOGY__;
