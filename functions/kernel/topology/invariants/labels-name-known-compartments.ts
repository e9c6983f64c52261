import { TopologyInvariant, violation } from './invariant';

/** Every label in the file (endpoint trust, clearances, result labels, release rules) names only declared compartments. */
export const labelsNameKnownCompartments: TopologyInvariant = (t, ctx) => {
  const compartments = new Set(t.compartments);
  const check = (l: { compartments: string[] }, p: (string | number)[]) =>
    l.compartments.forEach((c, i) => {
      if (!compartments.has(c)) violation(ctx, [...p, 'compartments', i], `unknown compartment "${c}"`);
    });
  for (const [n, e] of Object.entries(t.modelEndpoints)) check(e.trust, ['modelEndpoints', n, 'trust']);
  for (const [n, a] of Object.entries(t.agents)) check(a.clearance, ['agents', n, 'clearance']);
  for (const [n, tool] of Object.entries(t.tools)) check(tool.resultLabel, ['tools', n, 'resultLabel']);
  t.users.forEach((u, i) => check(u.clearance, ['users', i, 'clearance']));
  for (const [n, r] of Object.entries(t.release)) {
    check(r.from, ['release', n, 'from']);
    check(r.label, ['release', n, 'label']);
  }
};
