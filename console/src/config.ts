/**
 * `/config.json`, served beside the console by whoever hosts it (the local cloud's console server; the stack's
 * bucket): where the API and Cognito are. The console talks to nothing else.
 */
export interface ConsoleConfig {
  /** Base URL of the HTTP API, without a trailing slash. */
  readonly apiUrl: string;
  readonly region: string;
  readonly userPoolClientId: string;
  /** Where Cognito's `InitiateAuth` is posted: the emulator locally, `https://cognito-idp.<region>.amazonaws.com/` on AWS. */
  readonly cognitoEndpoint: string;
}

export class ConfigError extends Error {}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** Checks what `/config.json` holds; a missing or malformed field is an error naming it. */
export function parseConfig(json: unknown): ConsoleConfig {
  const value = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const text = (name: string): string => {
    const v = value[name];
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`config.json: ${name} is missing`);
    return v;
  };
  const region = text('region');
  if (!REGION.test(region)) throw new ConfigError(`config.json: region "${region}" is not an AWS region`);
  const cognitoEndpoint = value.cognitoEndpoint === undefined ? `https://cognito-idp.${region}.amazonaws.com/` : text('cognitoEndpoint');
  return {
    apiUrl: httpUrl(text('apiUrl'), 'apiUrl').replace(/\/+$/, ''),
    region,
    userPoolClientId: text('userPoolClientId'),
    cognitoEndpoint: httpUrl(cognitoEndpoint, 'cognitoEndpoint'),
  };
}

function httpUrl(text: string, name: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`config.json: ${name} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`config.json: ${name} is not an http(s) URL`);
  return text;
}

/** Fetches and checks `config.json` from the console's own origin. */
export async function loadConfig(): Promise<ConsoleConfig> {
  let res: Response;
  try {
    res = await fetch('config.json', { credentials: 'omit' });
  } catch {
    throw new ConfigError('config.json could not be fetched');
  }
  if (!res.ok) throw new ConfigError(`config.json: the server answered ${res.status}`);
  return parseConfig(await res.json().catch(() => undefined));
}
