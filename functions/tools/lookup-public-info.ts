import * as z from 'zod';
import { findPublicPage } from './fixtures/public-pages';
import { defineTool } from '../kernel/tools/tool';

export const LookupPublicInfoArgs = z.strictObject({
  query: z.string().min(1).max(200).describe('What to look up, e.g. "visiting hours"'),
});

/** Returns a public web page. Its text is untrusted: pages may carry prompt injections (DESIGN §1). */
export const lookupPublicInfo = defineTool({
  name: 'lookup_public_info',
  argsName: 'LookupPublicInfoArgs',
  args: LookupPublicInfoArgs,
  execute({ query }) {
    const page = findPublicPage(query);
    if (!page) return { content: `No public page matches "${query}".` };
    return { content: `${page.title}\n${page.url}\n\n${page.body}` };
  },
});
