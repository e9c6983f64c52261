import { LEVELS, Level, dominates, label, levelRank } from '../../../functions/kernel/labels';
import { Topology } from '../../../functions/kernel/topology/topology';

/**
 * The KMS access the topology implies (DESIGN §2, §3, §5), written from the design and the topology alone —
 * never from lib/ — so the synthesized policies are compared against an independent statement of intent.
 */

export const KMS_ACTIONS = [
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'kms:Encrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:Sign',
  'kms:Verify',
  'kms:GetPublicKey',
] as const;
export type KmsAction = (typeof KMS_ACTIONS)[number];

export type KeyName = Level | 'authority' | 'storage';
export const KEY_NAMES: readonly KeyName[] = [...LEVELS, 'authority', 'storage'];

/** Someone in the account with `kms:*` in their identity policy, but no role in AgentSec. */
export const ADMINISTRATOR = 'administrator';

/** What `principal` (an agent's name, `api`, `signer` or the administrator) may do with `key`. */
export function expectedKeyAccess(topology: Topology, principal: string, key: KeyName, action: KmsAction): boolean {
  if (key === 'authority') {
    // Only the signer signs; everyone in AgentSec verifies (DESIGN §3, §5) but the sequencer, which verifies nothing.
    if (action === 'kms:Sign') return principal === 'signer';
    if (action === 'kms:Verify' || action === 'kms:GetPublicKey') return principal !== ADMINISTRATOR && principal !== 'sequencer';
    return false;
  }
  // The storage key is used by DynamoDB on a caller's behalf, never called directly.
  if (key === 'storage') return false;
  // Level keys: envelope encryption uses GenerateDataKey to seal and Decrypt to open, nothing else (DESIGN §3).
  if (action !== 'kms:Decrypt' && action !== 'kms:GenerateDataKey') return false;
  const agent = topology.agents.get(principal);
  if (agent) {
    if (action === 'kms:Decrypt') return dominates(agent.clearance, label(key)); // no read up
    return principal === 'core' || levelRank(key) >= levelRank(agent.clearance.level); // no write down; core declassifies
  }
  if (principal === 'api') {
    // Commands and answers at most at the highest clearance of any user (DESIGN §8).
    return topology.users.some((u) => levelRank(u.clearance.level) >= levelRank(key));
  }
  if (principal === 'effects') {
    // The effect gateway opens the requests agents seal for it, and seals nothing (§5).
    return action === 'kms:Decrypt' && (key === LEVELS[0] || [...topology.agents.values()].some((a) => a.clearance.level === key));
  }
  if (principal === 'signer') {
    // It opens the requests agents seal for it under their own clearance, and votes the API seals at the lowest
    // level, to authenticate who asks (§1, §5).
    if (action === 'kms:Decrypt') return key === LEVELS[0] || [...topology.agents.values()].some((a) => a.clearance.level === key);
    // It seals the directives it delivers, at levels their addressee can read (§5).
    return [...topology.agents.values()].some((a) => dominates(a.clearance, label(key)));
  }
  return false; // the administrator uses no key
}

/**
 * Whether `principal` may open an envelope labelled `key`/`compartment` addressed to itself (DESIGN §3: compartments
 * by KMS): it may decrypt at that level, and its clearance holds the compartment. The API carries what users are
 * cleared for; the signer opens requests sealed under any agent's clearance.
 */
export function expectedCompartmentAccess(topology: Topology, principal: string, key: Level, compartment: string): boolean {
  if (!expectedKeyAccess(topology, principal, key, 'kms:Decrypt')) return false;
  const agent = topology.agents.get(principal);
  if (agent) return agent.clearance.compartments.includes(compartment);
  if (principal === 'api') return topology.users.some((u) => u.clearance.compartments.includes(compartment));
  return principal === 'signer' || principal === 'effects';
}
