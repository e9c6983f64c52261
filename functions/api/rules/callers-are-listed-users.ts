import { Topology, UserConfig } from '../../kernel/topology/topology';

/**
 * Only the topology's users use the system (DESIGN §1, threat 6): a token for a name it does not list, compared
 * exactly (case included), gets nothing, whatever clearance its claims say. Returns why, or undefined.
 */
export function callerIsAListedUser(topology: Topology, username: string): { user: UserConfig } | { refused: string } {
  const user = topology.users.find((u) => u.username === username);
  return user ? { user } : { refused: `${username} is not a user of this system` };
}
