/**
 * DynamoDB refuses a conditional write whose condition does not hold with ConditionalCheckFailedException. Every
 * store treats that refusal as an answer ("someone else got there first"), never as a fault.
 */
export function isConditionFailure(err: unknown): boolean {
  return (err as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';
}

/**
 * Sends a conditional write: true when it was applied, false when its condition did not hold. Any other error
 * is thrown.
 *
 * @example
 * const created = await writeIf(() => doc.send(new PutCommand({ ..., ConditionExpression: 'attribute_not_exists(#id)' })));
 */
export async function writeIf(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}
