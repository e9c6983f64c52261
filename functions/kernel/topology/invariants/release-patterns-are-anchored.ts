import { TopologyInvariant, violation } from './invariant';

/** Every `pattern` field of a release rule compiles and is anchored with ^ and $: a value must match it whole. */
export const releasePatternsAreAnchored: TopologyInvariant = (t, ctx) => {
  for (const [n, r] of Object.entries(t.release)) {
    for (const [f, field] of Object.entries(r.fields)) {
      if (field.type !== 'pattern') continue;
      const path = ['release', n, 'fields', f, 'pattern'];
      if (!field.pattern.startsWith('^') || !field.pattern.endsWith('$') || field.pattern.endsWith('\\$')) {
        violation(ctx, path, 'must be anchored with ^ and $');
      }
      try {
        new RegExp(field.pattern);
      } catch (err) {
        violation(ctx, path, `invalid regular expression: ${(err as Error).message}`);
      }
    }
  }
};
