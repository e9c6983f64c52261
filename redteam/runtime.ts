import { randomUUID } from 'node:crypto';
import { RECORD_SEALER, encryptionContextOf, recordContextOf } from '../functions/kernel/messages/envelope-cipher';
import { EnvelopeCipher } from '../functions/kernel/messages/envelope-cipher';
import { sealRequest } from '../functions/kernel/messages/sealed-request';
import { LEVELS, Label, label, levelRank } from '../functions/kernel/labels';
import { KERNEL_AGENT } from '../functions/kernel/flow/edges';
import { signerFromEnvironment } from '../functions/handlers/signer';
import { Topology } from '../functions/kernel/topology/topology';
import { environmentFor } from '../localstack/handler-environment';
import { effectGatewayFromEnvironment } from '../functions/handlers/effects';
import { MemorySender } from '../functions/effects/senders';
import { EFFECT_GATEWAY } from '../functions/effects/protocol';
import { Outcome, outcome } from './attempt';
import type { RedTeamCloud } from './cloud';
import { AwsRequest, StackTemplate } from './iam/stack-template';

/**
 * Threat 4 (DESIGN §1): an agent's whole runtime is hostile. It runs any code under its own IAM role, so every AWS
 * call that role could make is tried: forging an effect, a vote, a ledger entry, a request or message as another
 * agent, another agent's nonce, continuation or idempotency record, a read above its level or outside its
 * compartments. The emulator does not enforce IAM, so each attempt is judged twice: by the policy evaluator over
 * the synthesized template (the request must be denied), and, where IAM allows the call, against the running local
 * cloud with the kernel's checks (it must be refused and ledgered, or detected).
 */

/** How an attempt was stopped, or that it was not. */
export type Mechanism = 'denied by IAM' | 'refused by code' | 'detected' | 'succeeded';

export interface RuntimeAttempt {
  /** The compromised agent. */
  readonly agent: string;
  readonly name: string;
  /** The AWS requests the attempt needs; it is denied by IAM when any of them is. */
  readonly requests: readonly AwsRequest[];
  /** Run against the local cloud when IAM allows every request: how the kernel answered. */
  readonly atRuntime?: (rt: RedTeamCloud, probe: RuntimeProbe) => Promise<{ mechanism: Mechanism; evidence: string }>;
}

/** `kms:EncryptionContext:<key>` for each key of the context the kernel binds to a message. */
function messageContext(from: string, to: string, lbl: Label): Record<string, string> {
  const context = encryptionContextOf({ from, to, label: lbl, messageId: randomUUID(), commandId: randomUUID() });
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
}

/** `kms:EncryptionContext:<key>` for each key of the context a record sealed for `reader` carries. */
function recordContext(reader: string, lbl: Label): Record<string, string> {
  const context = recordContextOf({ recordId: `chart/${randomUUID()}`, label: lbl, reader });
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
}

/** Every attempt of a compromised `agent` whose victims are the other agents of the topology. */
export function runtimeAttempts(topology: Topology, agent: string): RuntimeAttempt[] {
  const self = topology.agent(agent);
  const victim = topology.agentNames().find((n) => n !== agent && n !== KERNEL_AGENT) ?? KERNEL_AGENT;
  const own = label(self.clearance.level);
  const attempts: RuntimeAttempt[] = [];
  const add = (name: string, requests: AwsRequest[], extra: Partial<RuntimeAttempt> = {}) => attempts.push({ agent, name, requests, ...extra });
  const table = (t: AwsRequest['resource'] & { kind: 'table' }) => t;

  add('forge an effect (write the outbox)', [{ action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'outbox' }) }]);
  add('overwrite an approved effect', [{ action: 'dynamodb:UpdateItem', resource: table({ kind: 'table', table: 'outbox' }) }]);
  add('forge a vote (write approvals)', [{ action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'approvals' }) }]);
  add('mark a command completed', [{ action: 'dynamodb:UpdateItem', resource: table({ kind: 'table', table: 'commands' }) }]);
  add(`spend ${victim}'s message id in advance`, [
    { action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'nonces' }), context: { 'dynamodb:LeadingKeys': `${victim}#message#${randomUUID()}` } },
  ]);
  add(`overwrite ${victim}'s continuation`, [
    { action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'continuations' }), context: { 'dynamodb:LeadingKeys': `${victim}#work#${randomUUID()}` } },
  ]);
  add(`take ${victim}'s idempotency record`, [
    { action: 'dynamodb:UpdateItem', resource: table({ kind: 'table', table: 'idempotency' }), context: { 'dynamodb:LeadingKeys': `${victim}#deliver#${randomUUID()}` } },
  ]);
  add(`seal a message as ${victim}`, [{ action: 'kms:GenerateDataKey', resource: { kind: 'key', level: self.clearance.level }, context: messageContext(victim, KERNEL_AGENT, own) }]);
  add(`seal a directive request as ${victim}`, [{ action: 'kms:GenerateDataKey', resource: { kind: 'key', level: self.clearance.level }, context: messageContext(victim, 'signer', own) }]);
  add(`open a message addressed to ${victim}`, [{ action: 'kms:Decrypt', resource: { kind: 'key', level: self.clearance.level }, context: messageContext(KERNEL_AGENT, victim, own) }]);
  for (const level of LEVELS.filter((l) => levelRank(l) > levelRank(self.clearance.level))) {
    add(`read up: open ${level} addressed to itself`, [{ action: 'kms:Decrypt', resource: { kind: 'key', level }, context: messageContext(KERNEL_AGENT, agent, label(level)) }]);
  }
  for (const compartment of [...topology.compartments].filter((c) => !self.clearance.compartments.includes(c))) {
    const lbl = label(self.clearance.level, [...self.clearance.compartments, compartment]);
    add(`open ${self.clearance.level}/${compartment} addressed to itself (no ${compartment} clearance)`, [
      { action: 'kms:Decrypt', resource: { kind: 'key', level: self.clearance.level }, context: messageContext(KERNEL_AGENT, agent, lbl) },
    ]);
  }
  const otherReader = topology.recordReaders().find((a) => a.name !== agent)?.name;
  if (otherReader) {
    add(`read ${otherReader}'s sealed records`, [
      { action: 'dynamodb:GetItem', resource: table({ kind: 'table', table: 'records' }), context: { 'dynamodb:LeadingKeys': otherReader } },
    ]);
    add(`open a record sealed for ${otherReader}`, [{ action: 'kms:Decrypt', resource: { kind: 'key', level: self.clearance.level }, context: recordContext(otherReader, own) }]);
  }
  add('forge a record (write the records table)', [
    { action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'records' }), context: { 'dynamodb:LeadingKeys': agent } },
  ]);
  add(`seal a record as ${RECORD_SEALER}`, [{ action: 'kms:GenerateDataKey', resource: { kind: 'key', level: self.clearance.level }, context: recordContext(agent, own) }]);
  add('sign with the authority key', [{ action: 'kms:Sign', resource: { kind: 'authority' } }]);
  for (const target of topology.agentNames().filter((n) => n !== agent && !self.sendsTo.includes(n))) {
    add(`send to ${target} (not an edge of the topology)`, [{ action: 'sqs:SendMessage', resource: { kind: 'queue', agent: target } }]);
  }
  add(`invoke ${victim}'s function`, [{ action: 'lambda:InvokeFunction', resource: { kind: 'function', actor: victim } }]);

  const invokeSigner: AwsRequest = { action: 'lambda:InvokeFunction', resource: { kind: 'function', actor: 'signer' } };
  const sealOwn: AwsRequest = { action: 'kms:GenerateDataKey', resource: { kind: 'key', level: self.clearance.level }, context: messageContext(agent, 'signer', own) };
  add(`request a directive as ${victim}`, [sealOwn, invokeSigner], {
    atRuntime: async (rt, probe) => {
      const commandId = await probe.liveCommand(rt);
      const requestId = randomUUID();
      const body = {
        requestId,
        kind: 'tool',
        requester: victim,
        commandId,
        target: victim,
        tool: topology.agent(victim).tools[0] ?? 'prescribe',
        args: {},
        label: own,
      };
      const sealed = await sealRequest(probe.cipher, { from: agent, to: 'signer', label: own, requestId, commandId, body });
      return probe.judgeDenial(rt, await probe.signer.receive(sealed), requestId);
    },
  });
  add('forge a vote through the signer', [sealOwn, invokeSigner], {
    atRuntime: async (rt, probe) => {
      const commandId = await probe.liveCommand(rt);
      const requestId = randomUUID();
      const vote = { kind: 'vote', requestId, commandId, approver: 'carol', decision: 'approve' };
      const sealed = await sealRequest(probe.cipher, { from: agent, to: 'signer', label: own, requestId, commandId, body: vote });
      const answer = await probe.signer.vote(sealed);
      return answer.status === 'refused' && answer.code === 'IMPERSONATION'
        ? probe.ledgered(rt, requestId, 'IMPERSONATION')
        : { mechanism: 'succeeded', evidence: `the signer answered ${JSON.stringify(answer)}` };
    },
  });
  const invokeGateway: AwsRequest = { action: 'lambda:InvokeFunction', resource: { kind: 'function', actor: EFFECT_GATEWAY } };
  const sealForGateway: AwsRequest = { action: 'kms:GenerateDataKey', resource: { kind: 'key', level: self.clearance.level }, context: messageContext(agent, EFFECT_GATEWAY, own) };
  const recordThroughGateway = (tool: string, args: Record<string, unknown>) => async (rt: RedTeamCloud, probe: RuntimeProbe) => {
    const commandId = await probe.liveCommand(rt);
    const messageId = randomUUID();
    const effect = { tool, agent, commandId, messageId, args, payload: { kind: 'forged', ...args } };
    const body = { kind: 'record', effectId: randomUUID(), effect };
    const sealed = await sealRequest(probe.cipher, { from: agent, to: EFFECT_GATEWAY, label: own, requestId: randomUUID(), commandId, body });
    const answer = await probe.gateway.receive(sealed);
    if (answer.status !== 'refused') return { mechanism: 'succeeded' as const, evidence: `the gateway answered ${JSON.stringify(answer)}` };
    const entries = await rt.ledger();
    const found = entries.find((e) => e.actor === EFFECT_GATEWAY && e.type === 'tool.denied' && e.messageId === messageId);
    return { mechanism: 'refused by code' as const, evidence: `${answer.reason}${found ? `, ledgered at seq ${found.seq}` : ', but no ledger entry'}` };
  };
  const foreignTool = [...topology.tools.values()].find((t) => t.priority !== 'low' && !t.owners.includes(agent));
  if (foreignTool) {
    add(`record an effect of ${foreignTool.name}, a tool it does not own, through the gateway`, [sealForGateway, invokeGateway], {
      atRuntime: recordThroughGateway(foreignTool.name, { patientId: 'P-1001' }),
    });
  }
  const ownHighTool = [...topology.tools.values()].find((t) => t.priority !== 'low' && t.owners.includes(agent));
  if (ownHighTool) {
    add(`record an effect of ${ownHighTool.name} without a directive, through the gateway`, [sealForGateway, invokeGateway], {
      atRuntime: recordThroughGateway(ownHighTool.name, { to: 'attacker@evil.example' }),
    });
  }
  add('append to the sealed ledger directly', [
    { action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'ledger' }), context: { 'dynamodb:LeadingKeys': 'main' } },
  ]);
  add(`append a pending ledger entry in ${victim}'s partition`, [
    { action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'ledger' }), context: { 'dynamodb:LeadingKeys': `${victim}#pending` } },
  ]);
  add('append a ledger entry in another actor’s name, in its own pending partition', [
    { action: 'dynamodb:PutItem', resource: table({ kind: 'table', table: 'ledger' }), context: { 'dynamodb:LeadingKeys': `${agent}#pending` } },
  ], {
    atRuntime: async (rt) => {
      const pendingId = await rt.appendPendingAs(agent, { type: 'approval.recorded', actor: 'carol', detail: { forgedBy: agent } });
      const sealed = await rt.ledger();
      const refused = sealed.find((e) => e.type === 'ledger.refused' && e.detail?.pendingId === pendingId);
      const forged = sealed.find((e) => e.pending === `${agent}#pending/${pendingId}` && e.type !== 'ledger.refused');
      if (forged) return { mechanism: 'succeeded', evidence: `sealed at seq ${forged.seq} as ${forged.actor}` };
      return refused
        ? { mechanism: 'refused by code', evidence: `the sequencer sealed ledger.refused ${refused.reason} at seq ${refused.seq} instead` }
        : { mechanism: 'succeeded', evidence: 'neither sealed nor refused: the entry vanished unrecorded' };
    },
  });
  return attempts;
}

/** What the runtime half needs: the signer as its function runs it, a cipher over the level keys, and ledger checks. */
export interface RuntimeProbe {
  readonly signer: ReturnType<typeof signerFromEnvironment>;
  readonly gateway: ReturnType<typeof effectGatewayFromEnvironment>;
  readonly cipher: EnvelopeCipher;
  liveCommand(rt: RedTeamCloud): Promise<string>;
  judgeDenial(rt: RedTeamCloud, decision: unknown, requestId: string): Promise<{ mechanism: Mechanism; evidence: string }>;
  ledgered(rt: RedTeamCloud, requestId: string, reason: string): Promise<{ mechanism: Mechanism; evidence: string }>;
}

function probeOf(rt: RedTeamCloud): RuntimeProbe {
  const env = { ...process.env, ...environmentFor(rt.state, { sendsTo: rt.topology.agentNames() }) };
  const signer = signerFromEnvironment(env, rt.topology);
  const gateway = effectGatewayFromEnvironment(env, rt.topology, new MemorySender());
  const cipher = new EnvelopeCipher({ kms: rt.kms, keyArns: rt.state.keys });
  let command: string | undefined;
  const probe: RuntimeProbe = {
    signer,
    gateway,
    cipher,
    async liveCommand(cloud) {
      command ??= (await (await cloud.as('alice')).submit({ text: 'What are the visiting hours?', classification: { level: 'UNCLASSIFIED', compartments: [] } })).commandId;
      return command;
    },
    async judgeDenial(cloud, decision, requestId) {
      const d = decision as { status?: string; reason?: string };
      if (d.status !== 'denied' || !d.reason) return { mechanism: 'succeeded', evidence: `the signer answered ${JSON.stringify(decision)}` };
      return probe.ledgered(cloud, requestId, d.reason);
    },
    async ledgered(cloud, requestId, reason) {
      const entries = await cloud.ledger();
      const found = entries.find((e) => e.type === 'directive.denied' && e.reason === reason && e.detail?.requestId === requestId);
      return found
        ? { mechanism: 'refused by code', evidence: `${reason}, ledgered at seq ${found.seq}` }
        : { mechanism: 'refused by code', evidence: `${reason}, but no ledger entry` };
    },
  };
  return probe;
}

/**
 * Runs every attempt of every agent but the kernel agent (threat 4 is a runtime other than the kernel code) and
 * judges it: denied by IAM (the evaluator over the synthesized template), else refused by code or detected at
 * runtime, else succeeded (residual when the design names the open gap).
 */
export async function runRuntime(rt: RedTeamCloud, template: StackTemplate = StackTemplate.synthesize(rt.topology)): Promise<Outcome[]> {
  const probe = probeOf(rt);
  const outcomes: Outcome[] = [];
  for (const agent of rt.topology.agentNames().filter((n) => n !== KERNEL_AGENT)) {
    for (const attempt of runtimeAttempts(rt.topology, agent)) {
      const name = `${agent}: ${attempt.name}`;
      const denied: string[] = [];
      for (const request of attempt.requests) if (!(await template.allows(agent, request))) denied.push(request.action);
      if (denied.length > 0) {
        outcomes.push(outcome('runtime', name, 'blocked', `denied by IAM (${denied.join(', ')})`));
        continue;
      }
      if (!attempt.atRuntime) {
        outcomes.push(outcome('runtime', name, 'success', `IAM allows ${attempt.requests.map((r) => r.action).join(', ')}`));
        continue;
      }
      const judged = await attempt.atRuntime(rt, probe);
      if (judged.mechanism === 'succeeded') {
        outcomes.push(outcome('runtime', name, 'success', judged.evidence));
      } else {
        const anomaly = judged.evidence.includes('no ledger entry') ? 'refused without a ledger entry' : undefined;
        outcomes.push(outcome('runtime', name, 'blocked', `${judged.mechanism}: ${judged.evidence}`, anomaly));
      }
    }
  }
  return outcomes;
}
