import { PUBLIC_PAGES, PublicPage } from '../functions/tools/fixtures/public-pages';

/**
 * Web pages the attacker controls (DESIGN §1, adversary 1): published, in this process only, among the pages the
 * `lookup_public_info` tool serves, each under a keyword of its own so a query names exactly one page. The tool
 * and the kernel are unchanged; only what the web says is the attacker's.
 */
export function publishAttackerPage(keyword: string, body: string): void {
  const page: PublicPage = {
    id: `attacker-${keyword}`,
    url: `https://${keyword}.attacker.example/notice`,
    title: 'Hospital notice board',
    keywords: [keyword],
    body,
    injects: [],
  };
  (PUBLIC_PAGES as PublicPage[]).push(page);
}
