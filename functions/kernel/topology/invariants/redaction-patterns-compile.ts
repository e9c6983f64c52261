import { TopologyInvariant, violation } from './invariant';

/** Every redaction rule's pattern and flags make a valid regular expression. */
export const redactionPatternsCompile: TopologyInvariant = (t, ctx) => {
  t.redaction.forEach((r, i) => {
    try {
      new RegExp(r.pattern, r.flags);
    } catch (err) {
      violation(ctx, ['redaction', i, 'pattern'], `invalid regular expression: ${(err as Error).message}`);
    }
  });
};
