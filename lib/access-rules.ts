import { API_PRINCIPAL } from '../functions/api/commands';
import { LEVELS, Label, Level, dominates, join, label, levelRank } from '../functions/kernel/labels';
import { KERNEL_AGENT, SERVICE_SENDERS, SIGNER } from '../functions/kernel/flow/edges';
import { AgentConfig, Topology } from '../functions/kernel/topology/topology';

/**
 * The rules that turn the topology into permissions (DESIGN §2, §3). Every grant the stack writes takes its
 * levels and edges from here, so "where is no-read-up enforced in IAM?" has one answer.
 */

/** The kernel agent: the only one that declassifies, so the only one that may write below its own level (DESIGN §6). */
export const DECLASSIFIER = KERNEL_AGENT;

/** The name the API function uses in encryption contexts (`from=api` on commands, `to=api` on answers). */
export const API_ACTOR = API_PRINCIPAL;

/** The name the signer uses in ledger entries and as `from` on the directives it delivers; it reads nothing classified. */
export { SIGNER };

/** No read up (DESIGN §2): the levels whose key a holder of `clearance` may decrypt with. */
export function levelsReadableBy(clearance: Label): Level[] {
  return LEVELS.filter((level) => dominates(clearance, label(level)));
}

/**
 * No write down (DESIGN §2): an agent creates data keys only at or above its own level, except the
 * declassifier, which may write at every level because declassification is its job (DESIGN §6).
 */
export function levelsWritableBy(agent: AgentConfig): Level[] {
  if (agent.name === DECLASSIFIER) return [...LEVELS];
  return LEVELS.filter((level) => levelRank(level) >= levelRank(agent.clearance.level));
}

/**
 * The API seals commands for `core` and opens answers for users, at most at the highest clearance any user
 * holds (DESIGN §8: the user's clearance bounds the command's label).
 */
export function levelsOfUserTraffic(topology: Topology): Level[] {
  const ceiling = join(...topology.users.map((u) => u.clearance));
  return topology.users.length === 0 ? [] : levelsReadableBy(ceiling);
}

/** Compartments by KMS (DESIGN §3): the topology's compartments a clearance lacks, each denied to its holder. */
export function compartmentsOutside(clearance: Label, topology: Topology): string[] {
  return [...topology.compartments].filter((c) => !clearance.compartments.includes(c));
}

/** The compartments user traffic may carry: those of some user's clearance; the API is denied the rest. */
export function compartmentsOfUserTraffic(topology: Topology): Label {
  return join(...topology.users.map((u) => u.clearance));
}

/** Queue send rights follow the topology's edges and nothing else (DESIGN §3). */
export function sendTargetsOf(agent: AgentConfig): readonly string[] {
  return agent.sendsTo;
}

/**
 * The agents a service function (the API, the signer) may send to: the same table the receiving kernel checks
 * senders against, where `*` means every agent. The API hands commands to the kernel agent (DESIGN §8); the
 * signer hands a directive signed after approvals to whichever agent asked for it (DESIGN §5).
 */
export function serviceSendTargets(service: string, topology: Topology): string[] {
  const targets = SERVICE_SENDERS[service];
  if (!targets) throw new Error(`"${service}" is not a service sender`);
  return targets.includes('*') ? topology.agentNames() : [...targets];
}

/**
 * Requests to a service function are sealed by the requesting agent under its own clearance (DESIGN §1, §5), and
 * votes by the API at the lowest level: the levels the service opens, addressed to itself only.
 */
export function levelsOfSealedRequests(topology: Topology): Level[] {
  const levels = new Set([LEVELS[0], ...[...topology.agents.values()].map((a) => a.clearance.level)]);
  return LEVELS.filter((level) => levels.has(level));
}

/**
 * The signer seals those directive messages at their label, which its addressee must be able to read: the
 * levels some agent's clearance dominates. It opens nothing.
 */
export function levelsSealedBySigner(topology: Topology): Level[] {
  return levelsReadableBy(join(...[...topology.agents.values()].map((a) => a.clearance)));
}
