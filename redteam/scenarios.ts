import type { SignedDirective } from '../functions/kernel/directives/claims';
import type { AgentMessage } from '../functions/kernel/messages/envelope';
import type { CommandRequestBody } from '../cli/api-client';
import { until } from './attempt';
import type { RedTeamCloud } from './cloud';
import { CommandWatch } from './command-watch';
import { openAsAddressee } from './craft';
import { LedgerWatch } from './evidence';

/**
 * Honest traffic the protocol, directive and approval attacks start from: real commands whose messages the
 * attacker captured off the queues (DESIGN §1, adversary 5), prescriptions waiting for two approvals, one that was
 * approved, delivered and run, and a live command with a subtask still outstanding.
 */

/** A message the kernel sent, as it crossed a queue. */
export interface Flow {
  readonly name: string;
  readonly to: string;
  readonly body: string;
  readonly message: AgentMessage;
}

/** A critical call suspended until approvals come: the agent keeps it under `requestId`. */
export interface PendingCall {
  readonly requestId: string;
  readonly commandId: string;
  readonly owner: string;
  readonly agent: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** A subtask core is still waiting for. */
export interface LiveSubtask {
  readonly commandId: string;
  readonly owner: string;
  readonly agent: string;
  readonly subtaskId: string;
}

export interface Scenarios {
  /** One captured message per edge and kind, each already consumed by its receiver. */
  readonly flows: readonly Flow[];
  /** Prescriptions waiting for approvals: some for the directive attacks, the rest for the approval attacks. */
  readonly pending: readonly PendingCall[];
  /** A prescription approved by two approvers: its directive was delivered (`delivery`) and spent. */
  readonly used: { readonly call: PendingCall; readonly directive: SignedDirective; readonly delivery: Flow };
  /** core → edge under a declassification directive. */
  readonly declassified: Flow;
  /** UNCLASSIFIED commands whose analyst subtask is still outstanding (one per attack that may complete its command). */
  readonly live: readonly [LiveSubtask, LiveSubtask];
  /** A command of bob's and one of alice's, for reading across users. */
  readonly commands: { readonly alice: string; readonly bob: string };
}

export const PRESCRIPTION = { patientId: 'P-1003', drug: 'Letrozole', doseMg: 2.5 };
const prescribeVia = (agent: string) => `Call the tool ${agent} with ${JSON.stringify({ task: `Use prescribe with arguments ${JSON.stringify(PRESCRIPTION)}` })}`;

const U = { level: 'UNCLASSIFIED', compartments: [] };
const C = { level: 'CONFIDENTIAL', compartments: [] };
const S = { level: 'SECRET', compartments: [] };
const SM = { level: 'SECRET', compartments: ['MEDICAL'] };

const HONEST: Record<string, { user: string; body: CommandRequestBody }> = {
  scheduler: { user: 'alice', body: { text: 'Ask the scheduler to schedule_appointment for P-1002 at 2030-01-02T10:00:00Z in Cardiology.', classification: C, allow: ['schedule_appointment'] } },
  analyst: { user: 'alice', body: { text: 'Ask the analyst to read_patient_record P-1001.', classification: SM } },
  edge: { user: 'alice', body: { text: 'Ask edge to lookup_public_info about parking.', classification: U } },
  auditor: { user: 'alice', body: { text: 'Ask the auditor to review the billing for March.', classification: S } },
  declassified: {
    user: 'alice',
    // A rule-built release one level down, no compartment dropped: the pre-authorization covers it (DESIGN §6).
    body: {
      text: `Call the tool edge with ${JSON.stringify({ task: 'Please lookup_public_info about parking for Patient Margaret Hollis.', release: { rule: 'car-park-level', fields: { level: '2' } } })}`,
      classification: C,
      declassifyTo: 'UNCLASSIFIED',
    },
  },
  bob: { user: 'bob', body: { text: 'What are the visiting hours?', classification: C } },
};

/** How many pending prescriptions to open. */
const PENDING = 6;

export async function prepareScenarios(rt: RedTeamCloud): Promise<Scenarios> {
  const commands = new CommandWatch(rt);
  const submit = async (user: string, body: CommandRequestBody) => (await (await rt.as(user)).submit(body)).commandId;
  const honest = Object.fromEntries(await Promise.all(Object.entries(HONEST).map(async ([k, v]) => [k, await submit(v.user, v.body)] as const)));
  const rx = { classification: SM, allow: ['prescribe'], text: prescribeVia('analyst') };
  const pendingIds = await Promise.all(Array.from({ length: PENDING + 1 }, () => submit('alice', rx)));
  const liveIds = await Promise.all([0, 1].map(() => submit('alice', { text: prescribeVia('analyst'), classification: U, allow: ['prescribe'] })));
  await Promise.all([...Object.values(honest), ...pendingIds].map((id) => commands.settled(id)));

  const watch = new LedgerWatch(rt);
  const requested = (id: string) => watch.of(id).find((e) => e.type === 'directive.requested' && e.detail?.tool === 'prescribe');
  await until(async () => ((await watch.refresh()) && [...pendingIds, ...liveIds].every(requested) ? true : undefined), 30_000);
  const calls = pendingIds.map((id): PendingCall => {
    const entry = requested(id);
    if (!entry) throw new Error(`the prescription of command ${id} never asked for approvals`);
    return { requestId: String(entry.detail?.requestId), commandId: id, owner: 'alice', agent: 'analyst', tool: 'prescribe', args: PRESCRIPTION };
  });

  const [approve, ...pending] = calls.slice(0, PENDING + 1);
  for (const approver of ['carol', 'dave']) await rt.passkeys.approve(approver, approve.requestId);
  await commands.settled(approve.commandId);
  const delivered = rt.sentTo('analyst').find((c) => c.message.kind === 'directive' && c.message.commandId === approve.commandId);
  if (!delivered?.message.directive) throw new Error('the approved prescription was never delivered');
  await rt.quiesce();

  return {
    flows: capturedFlows(rt, honest),
    pending,
    used: { call: approve, directive: delivered.message.directive, delivery: flow('signer → analyst directive', 'analyst', delivered) },
    declassified: onlyFlow(rt, 'core → edge declassified task', 'edge', (m) => m.commandId === honest.declassified && m.directive !== undefined),
    live: [await liveSubtask(rt, liveIds[0]), await liveSubtask(rt, liveIds[1])],
    commands: { alice: honest.analyst, bob: honest.bob },
  };
}

function flow(name: string, to: string, c: { body: string; message: AgentMessage }): Flow {
  return { name, to, body: c.body, message: c.message };
}

function onlyFlow(rt: RedTeamCloud, name: string, to: string, match: (m: AgentMessage) => boolean): Flow {
  const found = rt.sentTo(to).find((c) => match(c.message));
  if (!found) throw new Error(`no captured message for ${name}`);
  return flow(name, to, found);
}

/** One message of every edge the honest commands used, both ways. */
function capturedFlows(rt: RedTeamCloud, honest: Record<string, string>): Flow[] {
  const flows: Flow[] = [];
  for (const agent of ['scheduler', 'analyst', 'edge', 'auditor']) {
    const commandId = honest[agent];
    flows.push(onlyFlow(rt, `api → core task (${agent} command)`, 'core', (m) => m.commandId === commandId && m.from === 'api'));
    flows.push(onlyFlow(rt, `core → ${agent} task`, agent, (m) => m.commandId === commandId && m.kind === 'task'));
    flows.push(onlyFlow(rt, `${agent} → core result`, 'core', (m) => m.commandId === commandId && m.from === agent));
  }
  return flows;
}

/** The analyst's subtask of a live command: read from core's task, as the analyst (its addressee) can. */
async function liveSubtask(rt: RedTeamCloud, commandId: string): Promise<LiveSubtask> {
  const agent = 'analyst';
  const task = await until(async () => rt.sentTo(agent).find((c) => c.message.commandId === commandId && c.message.kind === 'task'), 10_000);
  if (!task) throw new Error(`core never sent ${agent} a task for ${commandId}`);
  const { subtaskId } = JSON.parse(await openAsAddressee(rt, task.message)) as { subtaskId: string };
  return { commandId, owner: 'alice', agent, subtaskId };
}
