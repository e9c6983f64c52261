import { templateFields } from '../../flow/release-template';
import { TopologyInvariant, violation } from './invariant';

/** A release template names only the rule's fields, each exactly once, and uses every one (nothing else is released). */
export const releaseTemplatesUseEachFieldOnce: TopologyInvariant = (t, ctx) => {
  for (const [n, r] of Object.entries(t.release)) {
    const used = templateFields(r.template);
    const declared = Object.keys(r.fields);
    for (const f of used) if (!declared.includes(f)) violation(ctx, ['release', n, 'template'], `names undeclared field "${f}"`);
    for (const f of declared) {
      const count = used.filter((u) => u === f).length;
      if (count !== 1) violation(ctx, ['release', n, 'fields', f], `must appear in the template exactly once, not ${count} times`);
    }
    if (/[{}]/.test(r.template.replace(/\{[a-z][a-z0-9_]{0,30}\}/g, ''))) violation(ctx, ['release', n, 'template'], 'has a brace outside a {field}');
  }
};
