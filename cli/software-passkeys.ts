import { ApiClient } from './api-client';
import { SoftwareAuthenticator } from '../localstack/software-authenticator';

/**
 * One software passkey per approver of a local cloud, registered through its API the first time that approver
 * approves: how `npm start`'s demo, the red team and the end-to-end tests sign approvals without a person at a
 * browser. The keys live in this process only; the console in a browser uses the person's own authenticator.
 *
 * @example
 * const passkeys = new SoftwarePasskeys(state.consoleUrl, (user) => clients.get(user)!);
 * await passkeys.approve('carol', requestId);
 */
export class SoftwarePasskeys {
  private readonly keys = new Map<string, SoftwareAuthenticator>();

  constructor(
    /** The console origin the deployment's signer accepts assertions from (`consoleUrl` of the local state). */
    private readonly origin: string,
    private readonly clientOf: (username: string) => ApiClient | Promise<ApiClient>,
  ) {}

  /** `username`'s passkey, registered through the API on first use. */
  async of(username: string): Promise<SoftwareAuthenticator> {
    const known = this.keys.get(username);
    if (known) return known;
    const key = new SoftwareAuthenticator(this.origin);
    await (await this.clientOf(username)).registerPasskey(key);
    this.keys.set(username, key);
    return key;
  }

  /** `username` approves `requestId` with their passkey, as in the console. */
  async approve(username: string, requestId: string, reason?: string): Promise<Record<string, unknown>> {
    const key = await this.of(username);
    return (await this.clientOf(username)).approveWithPasskey(requestId, key, reason);
  }
}
