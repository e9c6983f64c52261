import { DeclassifyRequest } from '../../kernel/directives/request';
import { isSecurityError } from '../../kernel/errors';
import { releasedContentDigest, releasedTask } from '../../kernel/flow/declassify';
import { buildRelease } from '../../kernel/flow/release-rules';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/**
 * A release claimed as rule-built is rebuilt here with the kernel's own function from the rule and fields the request
 * carries, and its digest must be the request's `contentDigest` (DESIGN §6): a compromised core cannot pass free text
 * off as a release rule's output. Runs on the request as it arrives; the bound request keeps only the rule's name.
 */
export function ruleBuiltReleaseRebuilds(topology: Topology, req: DeclassifyRequest): Denial | undefined {
  const claim = req.release;
  if (claim.path !== 'rule') return undefined;
  let text: string;
  try {
    text = buildRelease(topology, { rule: claim.rule, fields: claim.fields }, req.target, req.label, req.declassifyTo).text;
  } catch (err) {
    if (!isSecurityError(err)) throw err;
    return deny(err.reason, `the claimed release does not fit its rule: ${err.message}`);
  }
  const digest = releasedContentDigest(releasedTask(claim.subtaskId, text), claim.salt);
  return digest === req.contentDigest ? undefined : deny('BINDING_MISMATCH', `the content is not what release rule ${claim.rule} builds from its fields`);
}
