import { TopologyInvariant, violation } from './invariant';

/** Every approver is a declared user. */
export const approversAreUsers: TopologyInvariant = (t, ctx) => {
  const usernames = new Set(t.users.map((u) => u.username));
  t.approvers.forEach((a, i) => {
    if (!usernames.has(a)) violation(ctx, ['approvers', i], `unknown user "${a}"`);
  });
};
