import { TopologyInput, loadTopology, parseTopology } from '../../functions/kernel/topology/topology';
import { DEFAULT_TOPOLOGY_PATH } from '../../functions/kernel/topology/topology';
import { readFileSync } from 'node:fs';
import { expectedKeyAccess } from './support/expected-access';
import { evaluateMatrix } from './support/kms-matrix';
import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { synthesize } from './support/synth';
import { handlerFunctionIds, keyIds, principalRoles, taggedResources } from './support/template-lookup';

/** "Nothing listed twice": a different topology file yields a different stack, with no change to lib/. */
describe('a stack generated from another topology', () => {
  const base = JSON.parse(readFileSync(DEFAULT_TOPOLOGY_PATH, 'utf8')) as TopologyInput;

  /** The hospital topology plus an archivist (CONFIDENTIAL/FINANCE) that core may reach, and that reaches only core. */
  const withArchivist: TopologyInput = {
    ...base,
    agents: {
      ...base.agents,
      core: { ...base.agents.core, sendsTo: [...base.agents.core.sendsTo, 'archivist'] },
      archivist: {
        description: 'Keeps billing archives.',
        clearance: { level: 'CONFIDENTIAL', compartments: ['FINANCE'] },
        model: 'partner',
        sendsTo: ['core'],
        batchSize: 3,
        maxConcurrency: 4,
      },
    },
  };

  it('adds the new agent’s role, queue, function and event source, tagged with its clearance', () => {
    const s = synthesize({ topology: parseTopology(withArchivist) });
    const [role] = taggedResources(s.json.Resources, 'AWS::IAM::Role', 'agentsec:agent', 'archivist');
    expect(s.json.Resources[role].Properties!.Tags).toEqual(
      expect.arrayContaining([{ Key: 'agentsec:clearance', Value: 'CONFIDENTIAL/FINANCE' }]),
    );
    expect(handlerFunctionIds(s.json.Resources)).toHaveLength(10);
    s.template.resourceCountIs('AWS::SQS::Queue', 18);
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 3, ScalingConfig: { MaximumConcurrency: 4 } });
  });

  it('derives the new agent’s keys from its clearance: reads up to CONFIDENTIAL, writes at CONFIDENTIAL and above', async () => {
    const s = synthesize({ topology: parseTopology(withArchivist) });
    const cells = await evaluateMatrix(new PolicyEvaluator(s.json), principalRoles(s), keyIds(s));
    const wrong = cells.filter((c) => c.allowed !== expectedKeyAccess(s.topology, c.principal, c.key, c.action));
    expect(wrong).toEqual([]);
    const archivist = cells.filter((c) => c.principal === 'archivist' && c.allowed).map((c) => `${c.action}@${c.key}`);
    expect(archivist.sort()).toEqual(
      [
        'kms:Decrypt@UNCLASSIFIED',
        'kms:Decrypt@CONFIDENTIAL',
        'kms:GenerateDataKey@CONFIDENTIAL',
        'kms:GenerateDataKey@SECRET',
        'kms:GenerateDataKey@TOP_SECRET',
        'kms:GetPublicKey@authority',
        'kms:Verify@authority',
      ].sort(),
    );
  });

  it('refuses a topology whose visibility timeout is shorter than an agent’s timeout', () => {
    const slow: TopologyInput = { ...base, agents: { ...base.agents, edge: { ...base.agents.edge, timeoutSeconds: 120 } } };
    expect(() => synthesize({ topology: parseTopology(slow) })).toThrow(/visibilityTimeoutSeconds \(60\) is shorter than its timeoutSeconds \(120\)/);
  });

  it('reads the default topology through loadTopology()', () => {
    expect(synthesize().topology.agentNames()).toEqual(loadTopology().agentNames());
  });
});
