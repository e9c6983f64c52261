import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { label, dominates } from '../../../functions/kernel/labels';
import { loadTopology, parseTopology, TopologyError } from '../../../functions/kernel/topology/topology';
import { renderConfigSchema, SCHEMA_PATH } from '../../../scripts/write-config-schema';

const file = path.resolve(__dirname, '..', '..', '..', 'agentsec.config.json');
const raw = () => JSON.parse(readFileSync(file, 'utf8'));

function problemsOf(mutate: (t: any) => void): string[] {
  const t = raw();
  mutate(t);
  try {
    parseTopology(t);
  } catch (err) {
    if (err instanceof TopologyError) return err.problems;
    throw err;
  }
  return [];
}

describe('the topology file', () => {
  const topology = loadTopology(file);

  it('describes the hospital: core, auditor, analyst, scheduler and edge', () => {
    expect(topology.agentNames().sort()).toEqual(['analyst', 'auditor', 'core', 'edge', 'scheduler']);
    expect(topology.agent('core').clearance).toEqual(label('TOP_SECRET', ['FINANCE', 'MEDICAL']));
    expect(topology.agent('analyst').clearance).toEqual(label('SECRET', ['MEDICAL']));
    expect(topology.agent('auditor').clearance).toEqual(label('SECRET'));
    expect(topology.agent('scheduler').clearance).toEqual(label('CONFIDENTIAL'));
    expect(topology.agent('edge').clearance).toEqual(label('UNCLASSIFIED'));
  });

  it('core dominates every other agent and the external model is trusted with UNCLASSIFIED only', () => {
    for (const a of topology.agents.values()) expect(dominates(topology.agent('core').clearance, a.clearance)).toBe(true);
    expect(topology.modelEndpoint(topology.agent('edge').model).trust).toEqual(label('UNCLASSIFIED'));
  });

  it("derives an agent's tools from the tools' owners", () => {
    expect(topology.agent('analyst').tools).toEqual(['read_patient_record', 'prescribe']);
    expect(topology.agent('core').tools).toEqual([]);
  });

  it('has the default tools with their priorities', () => {
    const priorities = Object.fromEntries([...topology.tools.values()].map((t) => [t.name, t.priority]));
    expect(priorities).toEqual({
      lookup_public_info: 'low',
      read_patient_record: 'low',
      schedule_appointment: 'high',
      send_email: 'high',
      prescribe: 'critical',
    });
    expect(topology.tool('prescribe').approvals).toBe(2);
  });

  it('allows only the edges it lists', () => {
    expect(topology.allowsEdge('core', 'edge')).toBe(true);
    expect(topology.allowsEdge('edge', 'core')).toBe(true);
    expect(topology.allowsEdge('edge', 'analyst')).toBe(false);
    expect(topology.allowsEdge('nobody', 'core')).toBe(false);
  });

  it('fails closed on unknown names', () => {
    expect(() => topology.agent('mallory')).toThrow(TopologyError);
    expect(() => topology.tool('rm_rf')).toThrow(TopologyError);
    expect(() => topology.modelEndpoint('free-api')).toThrow(TopologyError);
  });

  it('the published JSON Schema is current (run `npm run schema` after changing the schema)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(renderConfigSchema());
  });
});

describe('a broken topology fails with the JSON path and the reason', () => {
  it.each<[string, (t: any) => void, RegExp]>([
    ['an unknown level', (t) => (t.agents.edge.clearance.level = 'PUBLIC'), /^\$\.agents\.edge\.clearance\.level: /],
    ['an unknown compartment', (t) => (t.agents.analyst.clearance.compartments = ['NUCLEAR']), /^\$\.agents\.analyst\.clearance\.compartments\[0\]: unknown compartment "NUCLEAR"/],
    ['an unknown model endpoint', (t) => (t.agents.edge.model = 'free'), /^\$\.agents\.edge\.model: unknown model endpoint "free"/],
    ['an edge to an unknown agent', (t) => t.agents.edge.sendsTo.push('mallory'), /^\$\.agents\.edge\.sendsTo\[1\]: unknown agent "mallory"/],
    ['a tool owned by an unknown agent', (t) => (t.tools.send_email.owners = ['ghost']), /^\$\.tools\.send_email\.owners\[0\]: unknown agent "ghost"/],
    ['a critical tool without approvals', (t) => delete t.tools.prescribe.approvals, /^\$\.tools\.prescribe\.approvals: /],
    ['an unknown priority', (t) => (t.tools.send_email.priority = 'urgent'), /^\$\.tools\.send_email\.priority: /],
    ['a missing core agent', (t) => delete t.agents.core, /^\$\.agents: the kernel agent "core" is required/],
    ['an approver who is not a user', (t) => t.approvers.push('eve'), /^\$\.approvers\[2\]: unknown user "eve"/],
    ['a reordered lattice', (t) => t.levels.reverse(), /^\$\.levels: must be exactly/],
    ['an invalid redaction pattern', (t) => (t.redaction[0].pattern = '(unclosed'), /^\$\.redaction\[0\]\.pattern: invalid regular expression/],
    ['an unexpected field', (t) => (t.agents.edge.superuser = true), /^\$\.agents\.edge: /],
    ['a duplicate user', (t) => t.users.push({ ...t.users[0] }), /^\$\.users\[4\]\.username: duplicate user "alice"/],
    ['a malformed endpoint URL', (t) => (t.modelEndpoints.onprem.baseUrl = 'not a url'), /^\$\.modelEndpoints\.onprem\.baseUrl: /],
    [
      'an API key secret on a plain-http endpoint (the key would cross the network in clear text)',
      (t) => (t.modelEndpoints.onprem.apiKeySecret = 'agentsec/onprem'),
      /^\$\.modelEndpoints\.onprem\.baseUrl: must be an https URL: the endpoint's API key is the secret "agentsec\/onprem"/,
    ],
    ['a malformed API key secret name', (t) => (t.modelEndpoints.external.apiKeySecret = 'open ai key'), /^\$\.modelEndpoints\.external\.apiKeySecret: must be a Secrets Manager secret name/],
    [
      'a SECRET agent owning an UNCLASSIFIED sink (sink owners cannot leak)',
      (t) => t.tools.send_email.owners.push('analyst'),
      /^\$\.tools\.send_email\.owners\[1\]: agent "analyst" is cleared above this tool's sink/,
    ],
    [
      'a target argument on a low-priority tool, which the signer never sees',
      (t) => (t.tools.lookup_public_info.arguments = { query: { target: true } }),
      /^\$\.tools\.lookup_public_info\.arguments\.query\.target: /,
    ],
  ])('%s', (_name, mutate, expected) => {
    const problems = problemsOf(mutate);
    expect(problems.some((p) => expected.test(p))).toBe(true);
  });

  it('reports a file that is not JSON', () => {
    const tmp = path.join(require('node:os').tmpdir(), `agentsec-bad-${process.pid}.json`);
    require('node:fs').writeFileSync(tmp, '{ "version": 1,');
    expect(() => loadTopology(tmp)).toThrow(/is not JSON/);
  });

  it('reports a missing file', () => {
    expect(() => loadTopology('/nonexistent/agentsec.config.json')).toThrow(/cannot read/);
  });
});
