import { TopologyInvariant, violation } from './invariant';

/** No username is declared twice; the second and later declarations are reported. */
export const usernamesAreUnique: TopologyInvariant = (t, ctx) => {
  const usernames = new Set<string>();
  t.users.forEach((u, i) => {
    if (usernames.has(u.username)) violation(ctx, ['users', i, 'username'], `duplicate user "${u.username}"`);
    usernames.add(u.username);
  });
};
