import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { principalRoles } from './support/template-lookup';

/** DESIGN §3: queue send rights follow the topology's edges only; only agents call the signer. */
describe('queue and invoke rights', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let roles: Map<string, string>;
  beforeAll(() => {
    s = synthesize();
    evaluator = new PolicyEvaluator(s.json);
    roles = principalRoles(s);
  });

  /**
   * Who may send to `to`'s inbox: its senders along the topology, the API to the kernel agent, and the signer,
   * which delivers directives signed after approvals to whichever agent asked (DESIGN §5).
   */
  const maySend = (from: string, to: string) => s.topology.allowsEdge(from, to) || (from === 'api' && to === 'core') || from === 'signer';

  it('sends to an agent’s queue only along the topology’s edges (and from the API to core, the signer to all)', async () => {
    const wrong: string[] = [];
    for (const [from, role] of roles) {
      for (const to of s.stack.agents.values()) {
        const allowed = await evaluator.allows({ caller: { role }, action: 'sqs:SendMessage', resource: logicalIdOf(s.stack, to.queue) });
        if (allowed !== maySend(from, to.actorName)) wrong.push(`${from} ${allowed ? 'CAN' : 'cannot'} send to ${to.actorName}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('an effector cannot send to another effector it has no edge to', async () => {
    expect(s.topology.allowsEdge('edge', 'analyst')).toBe(false);
    const analystInbox = logicalIdOf(s.stack, s.stack.agent('analyst').queue);
    expect(await evaluator.allows({ caller: { role: roles.get('edge')! }, action: 'sqs:SendMessage', resource: analystInbox })).toBe(false);
  });

  it('consumes only its own queue and dead-letters only into its own dead-letter queue', async () => {
    for (const [name, role] of roles) {
      for (const agent of s.stack.agents.values()) {
        const own = name === agent.actorName;
        const inbox = logicalIdOf(s.stack, agent.queue);
        const dlq = logicalIdOf(s.stack, agent.deadLetterQueue);
        expect([name, agent.actorName, await evaluator.allows({ caller: { role }, action: 'sqs:ReceiveMessage', resource: inbox })]).toEqual([name, agent.actorName, own]);
        expect([name, agent.actorName, await evaluator.allows({ caller: { role }, action: 'sqs:DeleteMessage', resource: inbox })]).toEqual([name, agent.actorName, own]);
        expect([name, agent.actorName, await evaluator.allows({ caller: { role }, action: 'sqs:SendMessage', resource: dlq })]).toEqual([name, agent.actorName, own]);
        expect(await evaluator.allows({ caller: { role }, action: 'sqs:ReceiveMessage', resource: dlq })).toBe(false);
      }
    }
  });

  it('refuses any send without TLS', async () => {
    const inbox = logicalIdOf(s.stack, s.stack.agent('core').queue);
    const decision = await evaluator.decide({
      caller: { role: roles.get('edge')! },
      action: 'sqs:SendMessage',
      resource: inbox,
      context: { 'aws:SecureTransport': 'false' },
    });
    expect(decision).toBe('ExplicitlyDenied');
  });

  it('lets the agents, the API and the sequencer, and no one else, invoke the signer; no one invokes an agent directly', async () => {
    const signerFn = logicalIdOf(s.stack, s.stack.signer.handler.fn);
    for (const [name, role] of roles) {
      const allowed = await evaluator.allows({ caller: { role }, action: 'lambda:InvokeFunction', resource: signerFn });
      expect([name, allowed]).toEqual([name, s.topology.agents.has(name) || name === 'api' || name === 'sequencer']);
      for (const agent of s.stack.agents.values()) {
        const fn = logicalIdOf(s.stack, agent.handler.fn);
        expect(await evaluator.allows({ caller: { role }, action: 'lambda:InvokeFunction', resource: fn })).toBe(false);
      }
    }
  });
});
