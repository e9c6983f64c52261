/** A synthesized CloudFormation template, as the policy evaluator reads it. */
export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, any>; [k: string]: unknown }>;
  Outputs?: Record<string, { Value: unknown }>;
  [k: string]: unknown;
}
