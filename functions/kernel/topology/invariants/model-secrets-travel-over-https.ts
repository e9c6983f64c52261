import { TopologyInvariant, violation } from './invariant';

/** An endpoint whose API key is a secret is reached over HTTPS: the key travels in every request's headers. */
export const modelSecretsTravelOverHttps: TopologyInvariant = (t, ctx) => {
  for (const [n, e] of Object.entries(t.modelEndpoints)) {
    if (e.apiKeySecret !== undefined && new URL(e.baseUrl).protocol !== 'https:') {
      violation(ctx, ['modelEndpoints', n, 'baseUrl'], `must be an https URL: the endpoint's API key is the secret "${e.apiKeySecret}"`);
    }
  }
};
