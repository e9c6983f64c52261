import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { principalRoles } from './support/template-lookup';

/**
 * DESIGN §3: who may invoke which function, evaluated on the synthesized template for every principal × function.
 * Agents are reached only through their queues; the signer by the agents (sealed requests) and the API (votes,
 * resumes) and the sequencer (tree heads); the effect gateway by the agents that own tools; nothing else is
 * invocable by any AgentSec role.
 */
describe('invoke rights', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let roles: Map<string, string>;
  beforeAll(() => {
    s = synthesize();
    evaluator = new PolicyEvaluator(s.json);
    roles = principalRoles(s);
  });

  /** The functions a principal may invoke, by the name of the function's actor. */
  function expectedInvocations(principal: string): string[] {
    const agent = s.topology.agents.get(principal);
    // Tool owners record effects through the gateway; everyone who asks for directives or votes reaches the signer.
    if (agent) return agent.tools.length > 0 ? ['signer', 'effects'] : ['signer'];
    // The API forwards votes; the sequencer asks for a signed tree head after each batch.
    return principal === 'api' || principal === 'sequencer' ? ['signer'] : [];
  }

  it('every principal × function × lambda:InvokeFunction is what the topology implies', async () => {
    const functions = Object.entries(s.json.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([id]) => id);
    const actorOf = new Map<string, string>([
      ...[...s.stack.agents.values()].map((a) => [logicalIdOf(s.stack, a.handler.fn), a.actorName] as [string, string]),
      [logicalIdOf(s.stack, s.stack.api.handler.fn), 'api'],
      [logicalIdOf(s.stack, s.stack.signer.handler.fn), 'signer'],
      [logicalIdOf(s.stack, s.stack.effects.handler.fn), 'effects'],
      [logicalIdOf(s.stack, s.stack.sequencer.handler.fn), 'sequencer'],
    ]);
    const wrong: string[] = [];
    for (const [principal, role] of roles) {
      for (const fn of functions) {
        const target = actorOf.get(fn) ?? fn;
        const allowed = await evaluator.allows({ caller: { role }, action: 'lambda:InvokeFunction', resource: fn });
        if (allowed !== expectedInvocations(principal).includes(target)) wrong.push(`${principal} ${allowed ? 'CAN' : 'cannot'} invoke ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no agent can invoke another agent’s function: agents are reached only through their queues', async () => {
    for (const [name, role] of roles) {
      for (const agent of s.stack.agents.values()) {
        const fn = logicalIdOf(s.stack, agent.handler.fn);
        expect([name, agent.actorName, await evaluator.allows({ caller: { role }, action: 'lambda:InvokeFunction', resource: fn })]).toEqual([name, agent.actorName, false]);
      }
    }
  });
});
