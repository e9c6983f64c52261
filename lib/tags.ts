/**
 * Tag keys the stack puts on its resources (DESIGN §10). Tests outside this repository find roles and keys
 * by them, so their spelling is a contract.
 */
export const TAG = {
  /** On an agent's role: the agent's name (`core` is the kernel agent). */
  agent: 'agentsec:agent',
  /** On an agent's role: its clearance, as `formatLabel` writes it (`SECRET/MEDICAL`). */
  clearance: 'agentsec:clearance',
  /** On a level key: the level it encrypts. */
  level: 'agentsec:level',
  /** On the authority key (`authority`) and the signer's role (`signer`). */
  purpose: 'agentsec:purpose',
} as const;
