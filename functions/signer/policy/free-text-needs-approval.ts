import { BoundRequest } from '../../kernel/directives/request';

/**
 * Only a release a rule built (and the signer rebuilt) may go down on a pre-authorization; free text — or a request
 * that does not say — goes down only with a human's approval (DESIGN §6).
 */
export function freeTextNeedsApproval(req: BoundRequest): boolean {
  return req.release !== 'rule';
}
