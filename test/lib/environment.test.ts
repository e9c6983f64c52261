import { LEVELS } from '../../functions/kernel/labels';
import { TABLES, TableName } from '../../functions/kernel/tables';
import { readEnvironment } from '../../functions/platform/environment';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { TemplateArns } from '../../redteam/iam/template-arns';
import { keyIds } from './support/template-lookup';

/** functions/platform/environment.ts is the contract between the stack and every handler. */
describe('the handlers’ environment', () => {
  let s: Synthesized;
  let arns: TemplateArns;
  beforeAll(() => {
    s = synthesize();
    arns = new TemplateArns(s.json);
  });

  const environmentOf = (fn: { node: { defaultChild?: unknown } }) =>
    arns.resolve(s.json.Resources[logicalIdOf(s.stack, fn)].Properties!.Environment.Variables) as Record<string, string>;
  const queueUrl = (agent: string) => arns.ref(logicalIdOf(s.stack, s.stack.agent(agent).queue));

  it('satisfies readEnvironment() in every function', () => {
    for (const handler of [...s.stack.agents.values()].map((a) => a.handler).concat(s.stack.api.handler, s.stack.signer.handler)) {
      expect(() => readEnvironment(environmentOf(handler.fn))).not.toThrow();
    }
  });

  it('names every level key, the authority key and every table', () => {
    const keys = keyIds(s);
    const env = readEnvironment(environmentOf(s.stack.signer.handler.fn));
    expect(env.AGENTSEC_KEY_ARNS).toEqual(Object.fromEntries(LEVELS.map((l) => [l, arns.arn(keys.get(l)!)])));
    expect(env.AGENTSEC_AUTHORITY_KEY_ARN).toBe(arns.arn(keys.get('authority')!));
    for (const t of Object.keys(TABLES) as TableName[]) {
      expect(environmentOf(s.stack.signer.handler.fn)[TABLES[t].env]).toBe(logicalIdOf(s.stack, s.stack.data.tables[t]));
    }
  });

  it('gives each agent its name, the queue URLs of exactly its edges, its dead-letter queue and the signer', () => {
    for (const agent of s.stack.agents.values()) {
      const env = readEnvironment(environmentOf(agent.handler.fn));
      expect(env.AGENTSEC_AGENT).toBe(agent.actorName);
      expect(env.AGENTSEC_QUEUE_URLS).toEqual(Object.fromEntries(agent.config.sendsTo.map((to) => [to, queueUrl(to)])));
      expect(env.AGENTSEC_DLQ_URL).toBe(arns.ref(logicalIdOf(s.stack, agent.deadLetterQueue)));
      expect(env.AGENTSEC_SIGNER_FUNCTION).toBe(logicalIdOf(s.stack, s.stack.signer.handler.fn));
    }
  });

  it('gives the API only the kernel agent’s queue, the signer and no agent name', () => {
    const env = readEnvironment(environmentOf(s.stack.api.handler.fn));
    expect(env.AGENTSEC_QUEUE_URLS).toEqual({ core: queueUrl('core') });
    expect(env.AGENTSEC_AGENT).toBeUndefined();
    expect(env.AGENTSEC_SIGNER_FUNCTION).toBe(logicalIdOf(s.stack, s.stack.signer.handler.fn));
  });

  it('gives the signer every agent’s queue, to deliver directives signed after approvals', () => {
    const env = readEnvironment(environmentOf(s.stack.signer.handler.fn));
    expect(env.AGENTSEC_QUEUE_URLS).toEqual(Object.fromEntries(s.topology.agentNames().map((n) => [n, queueUrl(n)])));
    expect(env.AGENTSEC_AGENT).toBeUndefined();
    expect(env.AGENTSEC_SIGNER_FUNCTION).toBeUndefined();
  });
});
