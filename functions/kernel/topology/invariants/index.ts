import type * as z from 'zod';
import type { TopologyOutput } from '../shape';
import { agentsNameKnownEndpoints } from './agents-name-known-endpoints';
import { approversAreUsers } from './approvers-are-users';
import { argumentPoliciesGuardConsequentialTools } from './argument-policies-guard-consequential-tools';
import { coreIsPresent } from './core-is-present';
import { criticalToolsSayTheirApprovals } from './critical-tools-say-their-approvals';
import { edgesNameKnownAgents } from './edges-name-known-agents';
import { TopologyInvariant } from './invariant';
import { labelsNameKnownCompartments } from './labels-name-known-compartments';
import { levelsAreTheFour } from './levels-are-the-four';
import { modelSecretsTravelOverHttps } from './model-secrets-travel-over-https';
import { noAgentSendsToItself } from './no-agent-sends-to-itself';
import { onlyCriticalToolsTakeApprovals } from './only-critical-tools-take-approvals';
import { ownersClearedForResultLabel } from './owners-cleared-for-result-label';
import { redactionPatternsCompile } from './redaction-patterns-compile';
import { releasePatternsAreAnchored } from './release-patterns-are-anchored';
import { releaseRulesLowerTheLabel } from './release-rules-lower-the-label';
import { releaseRulesReleaseToClearedAgents } from './release-rules-release-to-cleared-agents';
import { releaseTemplatesUseEachFieldOnce } from './release-templates-use-each-field-once';
import { sinkOwnersCannotLeak } from './sink-owners-cannot-leak';
import { toolOwnersAreAgents } from './tool-owners-are-agents';
import { usernamesAreUnique } from './usernames-are-unique';
import { votesWithoutPasskeyNameCriticalTools } from './votes-without-passkey-name-critical-tools';

/**
 * The cross-reference invariants of a topology file, one per file and named for what it asserts. The schema
 * checks the shapes; this pack, run by its superRefine, checks that the names and labels agree.
 */

export type { TopologyInvariant } from './invariant';
/** Every invariant, in the order its problems are reported. */
export const TOPOLOGY_INVARIANTS: readonly TopologyInvariant[] = [
  levelsAreTheFour,
  coreIsPresent,
  labelsNameKnownCompartments,
  agentsNameKnownEndpoints,
  modelSecretsTravelOverHttps,
  edgesNameKnownAgents,
  noAgentSendsToItself,
  toolOwnersAreAgents,
  ownersClearedForResultLabel,
  sinkOwnersCannotLeak,
  criticalToolsSayTheirApprovals,
  argumentPoliciesGuardConsequentialTools,
  onlyCriticalToolsTakeApprovals,
  votesWithoutPasskeyNameCriticalTools,
  redactionPatternsCompile,
  releaseRulesReleaseToClearedAgents,
  releaseRulesLowerTheLabel,
  releaseTemplatesUseEachFieldOnce,
  releasePatternsAreAnchored,
  usernamesAreUnique,
  approversAreUsers,
];

/** Runs the whole pack; every invariant reports, none stops the others. */
export function checkTopologyInvariants(parsed: TopologyOutput, ctx: z.RefinementCtx<TopologyOutput>): void {
  for (const invariant of TOPOLOGY_INVARIANTS) invariant(parsed, ctx);
}
