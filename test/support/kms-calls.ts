import { KMSClient } from '@aws-sdk/client-kms';
import { kms } from './aws';

/** A KMS client on the emulator that records the name of every command it sends. */
export function countingKms(): { client: KMSClient; calls: string[]; reset(): void } {
  const client = kms();
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String((context as { commandName?: string }).commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'countKmsCalls' },
  );
  return { client, calls, reset: () => void calls.splice(0) };
}
